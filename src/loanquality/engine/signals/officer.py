"""Officer signal: BOOK_SURGE 管户余额激增 (SPEC §6).

An officer's book is the balance of the live loans they manage (``manager_id``). It surges
when it grew by more than ``book_surge_share`` of the previous close's book *and* by more
than ``book_surge_amount`` yuan, both compared in whole fen (growth of exactly 30 %, or of
exactly 1,000,000 yuan, is no surge). An officer without a book at the previous close has
no growth rate to speak of (a new officer, a book handed over) and raises nothing; nor
does anyone at the first close.
"""

from __future__ import annotations

import ibis

from loanquality.engine.signals.base import (
    Context,
    exact,
    fen_sum,
    is_live,
    percent,
    percent_text,
    share_of,
    wan_of_fen,
    wan_text,
)


def _books(t: ibis.Table) -> ibis.Table:
    managed = t.filter(is_live(t) & t.manager_id.notnull() & (t.manager_id != ""))
    return managed.group_by(manager_id=managed.manager_id).aggregate(_fen=fen_sum(managed.balance))


def officer_signals(ctx: Context) -> list[ibis.Table]:
    """manager_id, code, severity (0: default), value, threshold, evidence."""
    if ctx.previous is None:
        return []
    p = ctx.params
    now = _books(ctx.live)
    before = _books(ctx.previous).rename(_before="_fen", _officer="manager_id")
    j = now.inner_join(before, now.manager_id == before._officer)
    growth = j._fen - j._before
    amount_fen = round(p.book_surge_amount * 100)
    surged = j.filter(
        (j._before > 0) & (growth > share_of(j._before, p.book_surge_share)) & (growth > amount_fen)
    )
    grew = surged._fen - surged._before
    share = grew.cast("float64") / surged._before.cast("float64")
    return [
        surged.select(
            manager_id=surged.manager_id.cast("string"),
            code=ibis.literal("BOOK_SURGE"),
            severity=ibis.literal(0).cast("int8"),
            value=share.cast("float64"),
            threshold=exact(p.book_surge_share),
            evidence=(
                "客户经理管户贷款余额由"
                + wan_of_fen(surged._before)
                + "增至"
                + wan_of_fen(surged._fen)
                + "，增加"
                + wan_of_fen(grew)
                + "（增长"
                + percent(share)
                + f"），超过{percent_text(p.book_surge_share)}且超过"
                + f"{wan_text(p.book_surge_amount)}"
            ).cast("string"),
        )
    ]
