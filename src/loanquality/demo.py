"""``loanquality demo``: a synthetic bank, imported and closed month by month, served on the web."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
from rich.console import Console

from loanquality.common.runtime import open_database
from loanquality.engine.lake import Lake
from loanquality.synth.generator import generate_bank, month_ends

DEMO_PASSWORD = "loanquality-demo"
DEMO_OPERATOR = "demo"  # who the lake's logs and the audit log say imported and closed
CLOSED_AFTER_DAYS = 3  # the demo closes each month this many days after its end
# the bank has worked its warnings in the system for its last three months: earlier closes
# open no cases (two years of unhandled cases would bury the inbox)
WARNING_MONTHS = 3


def demo_months(months: int, today: dt.date) -> list[dt.date]:
    """The demo's month ends: ``months`` of them, the last the latest month end before
    ``today``, so that its warnings fall due around now, as a live bank's would."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    first = last.year * 12 + last.month - months  # months counted from year 0, January = 0
    return month_ends(dt.date(first // 12, first % 12 + 1, 1), months)


def build_demo_bank(
    data_dir: Path, *, loans: int, months: int, seed: int, console: Console, progress
) -> None:
    """Generate, import and close every month; a data dir already closed is left as it is."""
    lake = Lake(data_dir)
    if len(lake.as_ofs("metrics")) >= months:
        console.print(f"演示数据已存在 demo bank already built in {data_dir}")
        return
    files_dir = data_dir / "bank-files"
    data_dir.mkdir(parents=True, exist_ok=True)
    open_database(data_dir)  # each month is audited as it is imported and closed
    from loanquality.operations import actions  # after Django

    operator = actions.Operator(DEMO_OPERATOR, via="demo")
    console.print(f"生成模拟银行 generating a synthetic bank: {loans:,} loans, {months} months")
    with progress(months + 1) as advance:
        bank = generate_bank(
            files_dir,
            loans=loans,
            months=months,
            seed=seed,
            start=demo_months(months, dt.date.today())[0],
            progress=advance,
        )
    with progress(2 * len(bank.as_ofs)) as advance:
        for as_of in bank.as_ofs:
            actions.import_files(operator, as_of, bank.files(as_of), data_dir=data_dir)
            advance(f"导入 imported {as_of}")
            # as a bank closes a month: a few days after its end (its cases open then)
            closed_on = min(as_of + dt.timedelta(days=CLOSED_AFTER_DAYS), dt.date.today())
            actions.close_with_pending_approvals(
                operator,
                as_of,
                data_dir=data_dir,
                closed_on=closed_on,
                follow_up=as_of in bank.as_ofs[-WARNING_MONTHS:],
            )
            advance(f"结账 closed {as_of}")


def demo_users(data_dir: Path) -> list[tuple[str, str, str]]:
    """One user per role, placed where that role sits in the generated org tree:
    (username, role label, org name). Existing demo users are kept."""
    from loanquality.accounts.actions import create_user
    from loanquality.accounts.models import Role, User
    from loanquality.common.scope import org_tree

    tree = org_tree()
    root = tree.root
    coop = tree.children(root)[0]
    outlet = tree.children(coop)[0] if tree.children(coop) else coop
    places = {
        Role.ADMIN: root,
        Role.CREDIT_DEPT: root,
        Role.RISK: root,
        Role.AUDITOR: root,
        Role.DIRECTOR: coop,
        Role.OFFICER: outlet,
    }
    users = []
    for role, org in places.items():
        username = f"demo_{role.value}"
        if not User.objects.filter(username=username).exists():
            staff_id = _an_officer_of(data_dir, org) if role == Role.OFFICER else ""
            create_user(
                username, password=DEMO_PASSWORD, role=role.value, org_id=org, staff_id=staff_id
            )
        users.append((username, role.label, tree.name(org)))
    return users


def _an_officer_of(data_dir: Path, org_id: str) -> str:
    """The staff id of the loan officer who manages the most loans of ``org_id``."""
    lake = Lake(data_dir)
    loans = lake.read("loans", lake.as_ofs("loans")[-1])
    mine = loans.filter(pc.equal(loans.column("org_id"), org_id))
    counts = mine.group_by("manager_id").aggregate([("manager_id", "count")])
    if not counts.num_rows:
        return ""
    return counts.sort_by([("manager_id_count", "descending")]).column("manager_id")[0].as_py()
