"""Reading warning cases and signals: always within the user's subtree.

Every list (``cases``, ``open_counts``) and the inbox first bring the cases up to date
(``refresh``: the newest close synced, overdue cases escalated), so no cron is needed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import duckdb
from django.db.models import Count, Q

from loanquality.common.access import access_object
from loanquality.common.scope import Scope, lake, scope_of
from loanquality.engine.lake import PART_FILE
from loanquality.engine.signals import SIGNAL_COLUMNS
from loanquality.warnings.models import ACTIVE_STATES, Case, NoticeKind, State
from loanquality.warnings.sync import ensure_synced, escalate_overdue, newest_close, today_here

# states a list may ask for beyond the single ones (``?state=active`` …)
STATE_GROUPS = {
    "active": ("待处理（新建、已分派、处理中）", ACTIVE_STATES),
    "to_close": ("待关闭（已化解、已转处置）", (State.RESOLVED, State.TRANSFERRED)),
    "open": ("未关闭", tuple(s for s in State if s != State.CLOSED)),
}
# a signal row as the API and the case history show it: the lake's, less the handling days
SIGNAL_FIELDS = tuple(c for c in SIGNAL_COLUMNS if c != "due_days")


log = logging.getLogger(__name__)

# after a failed refresh this process leaves that close alone so long (seconds): a sync
# failing on a million rows is not tried again at every page
RETRY_AFTER = 600
# the close whose refresh failed last in this process, and when (time.monotonic())
_failed: dict = {"close_id": None, "at": 0.0}


def refresh(today: dt.date | None = None) -> None:
    """The newest close's signals in the cases and every overdue case escalated. Never
    breaks a read: a failure is logged and the cases are read as they are, and this
    process does not try that close again for ``RETRY_AFTER`` seconds."""
    close_id = None
    try:
        newest = newest_close()
        close_id = newest[1] if newest else None
        if _failed["close_id"] == close_id and time.monotonic() - _failed["at"] < RETRY_AFTER:
            return
        ensure_synced(today)
        escalate_overdue(today)
    except Exception:
        log.exception("warnings: syncing the newest close or escalating overdue cases failed")
        _failed["close_id"], _failed["at"] = close_id, time.monotonic()


def get_case(user, pk: int) -> Case:
    """The case if its org is in the user's subtree; 404 otherwise."""
    return access_object(user, Case.objects.select_related("assignee"), pk, what="预警")


def states_of(state: str | None) -> tuple[str, ...] | None:
    """A state's value, or a group of ``STATE_GROUPS``, as the states it means."""
    if not state:
        return None
    if state in STATE_GROUPS:
        return tuple(STATE_GROUPS[state][1])
    if state in State.values:
        return (state,)
    raise ValueError(f"未知状态 {state}")


def cases(
    scope: Scope,
    *,
    code: str | None = None,
    severity: int | None = None,
    state: str | None = None,
    org: str | None = None,
    officer: str | None = None,
    overdue: bool | None = None,
    assignee=None,
    checker=None,
    today: dt.date | None = None,
):
    """The cases of ``scope``, worst and most urgent first (severity, due date).

    ``org``: that org's subtree (within the scope); ``officer``: the manager's staff id;
    ``state``: a ``State`` value or a group of ``STATE_GROUPS``; ``overdue``: only the
    active cases past due (falsy: no filter); ``assignee``: a User or a user id;
    ``checker``: a User — only the cases they may close (已化解 / 已转处置 by someone
    else; none for a role that closes nothing), as their 待关闭 task counts them."""
    refresh(today)
    today = today or today_here()
    found = Case.objects.in_scope(scope).select_related("assignee")
    if code:
        found = found.filter(code=code)
    if severity:
        found = found.filter(severity=severity)
    if states := states_of(state):
        found = found.filter(state__in=states) if len(states) > 1 else found.filter(state=states[0])
    if org:
        found = found.filter(org_id__in=[o for o in scope.tree.subtree(org) if scope.covers(o)])
    if officer:
        found = found.filter(manager_id=officer)
    if overdue:
        found = found.filter(state__in=ACTIVE_STATES, due_on__lt=today)
    if assignee is not None:
        found = found.filter(assignee=assignee)
    if checker is not None:
        found = to_close(found, checker)
    return found


def to_close(found, checker):
    """Of ``found``, the cases ``checker`` may close (maker–checker: not their own)."""
    from loanquality.warnings.actions import DONE, MANAGERS

    if checker.role not in MANAGERS:
        return found.none()
    return found.filter(state__in=DONE).exclude(resolved_by=checker)


def is_overdue(case: Case, today: dt.date | None = None) -> bool:
    return case.state in ACTIVE_STATES and case.due_on < (today or today_here())


def measures(case: Case):
    return case.measures.select_related("recorded_by")


def open_counts(scope: Scope, today: dt.date | None = None) -> list[dict]:
    """Active cases (新建, 已分派, 处理中) and the overdue among them by severity: first the
    scope's whole subtree (``total`` True), then each org just below the scope's org (its
    subtree summed). One row per (org, severity), zeros included, each with the list it
    drills to (``/warnings/?org=…&severity=…&state=active``, and ``&overdue=1``). Above
    ``HEAVY_COUNT`` active cases the counts are kept ``HEAVY_SECONDS``."""
    from django.core.cache import cache

    from loanquality.warnings.models import SyncedClose

    refresh(today)
    today = today or today_here()
    synced = SyncedClose.objects.order_by("-pk").values_list("pk", flat=True).first()
    key = f"warnings.open_counts:{scope.org_id}:{synced}:{today}"
    kept = cache.get(key)
    if kept is None:
        kept = _open_counts(scope, today)
        if sum(r["open"] for r in kept if r["total"]) > HEAVY_COUNT:
            cache.set(key, kept, HEAVY_SECONDS)  # as the inbox's counts
    return kept


def _open_counts(scope: Scope, today: dt.date) -> list[dict]:
    tree = scope.tree
    rows = (
        Case.objects.in_scope(scope)
        .filter(state__in=ACTIVE_STATES)
        .values("org_id", "severity")
        .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today)))
    )
    heads = [scope.org_id, *tree.children(scope.org_id)]
    counts = {(h, s): [0, 0] for h in heads for s in (3, 2, 1)}
    for row in rows:
        path = tree.path(row["org_id"])
        if scope.org_id not in path:
            continue
        below = path[path.index(scope.org_id) + 1 :]
        for head in [scope.org_id, *below[:1]]:
            cell = counts.setdefault((head, row["severity"]), [0, 0])
            cell[0] += row["open"]
            cell[1] += row["overdue"]
    return [
        {
            "org_id": head,
            "org_name": tree.name(head),
            "total": head == scope.org_id,
            "severity": severity,
            "open": opened,
            "overdue": late,
            "open_url": f"/warnings/?org={head}&severity={severity}&state=active",
            "overdue_url": f"/warnings/?org={head}&severity={severity}&state=active&overdue=1",
        }
        for (head, severity), (opened, late) in counts.items()
    ]


def notice_loans(
    scope: Scope,
    as_of: dt.date,
    kind: str,
    org: str | None = None,
    loan_id: str | None = None,
) -> list[dict]:
    """The loans of ``scope`` (``org``'s subtree, or one loan) with a ``kind`` signal
    (MAT3M 监测通知书 / MAT1M 提示函) at ``as_of``, with what a notice prints: the
    customer, amount, balance, the maturity (the extended one where there is one) and the
    signal's evidence. Sorted by org, maturity, loan."""
    if kind not in NoticeKind.values:
        raise ValueError(f"未知通知类型 {kind}")
    the_lake = lake()
    if not the_lake.has("signals", as_of) or not the_lake.has("classified", as_of):
        return []
    orgs = [o for o in (scope.tree.subtree(org) if org else scope.orgs) if scope.covers(o)]
    sql = f"""
        SELECT s.loan_id, l.customer_id, coalesce(l.customer_name, s.customer_name) AS
               customer_name, s.org_id, l.manager_id, l.product, l.amount, l.balance,
               l.issue_date, coalesce(l.extended_maturity_date, l.maturity_date) AS
               maturity_date, l.maturity_date AS original_maturity_date, s.evidence,
               s.value AS days
        FROM read_parquet({_path("signals", as_of)}) s
        JOIN read_parquet({_path("classified", as_of)}) l USING (loan_id)
        WHERE s.code = $kind AND s.loan_id <> '' AND s.org_id IN (SELECT unnest($orgs))
          {"AND s.loan_id = $loan_id" if loan_id else ""}
        ORDER BY s.org_id, maturity_date, s.loan_id
    """
    params: dict = {"kind": kind, "orgs": orgs}
    if loan_id:
        params["loan_id"] = loan_id
    rows = _query(sql, params)
    for row in rows:
        row["as_of"], row["kind"] = as_of, kind
    return rows


def signals(
    scope: Scope,
    as_of: dt.date,
    *,
    codes: list[str] | None = None,
    org: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict]:
    """The signal rows of ``as_of`` in ``scope`` (``org``'s subtree), as published:
    worst first, then org, loan."""
    if not lake().has("signals", as_of):
        return []
    orgs = [o for o in (scope.tree.subtree(org) if org else scope.orgs) if scope.covers(o)]
    where = "org_id IN (SELECT unnest($orgs))"
    params: dict = {"orgs": orgs, "limit": limit, "offset": offset}
    if codes:
        where += " AND code IN (SELECT unnest($codes))"
        params["codes"] = codes
    sql = f"""
        SELECT {", ".join(SIGNAL_FIELDS)} FROM read_parquet({_path("signals", as_of)})
        WHERE {where}
        ORDER BY severity DESC, org_id, loan_id, code, customer_id, manager_id
        LIMIT $limit OFFSET $offset
    """
    return _query(sql, params)


def signal_dates() -> list[dt.date]:
    return lake().as_ofs("signals")


def case_history(case: Case) -> list[dict]:
    """The case's signal — its code and subject — at every close that raised it, oldest
    first: as_of, severity, value, threshold, evidence. Reads only the partitions from the
    case's first to its last as-of."""
    the_lake = lake()
    dates = [d for d in the_lake.as_ofs("signals") if case.first_as_of <= d <= case.last_as_of]
    if not dates:
        return []
    paths = ", ".join(_path("signals", d) for d in dates)
    sql = f"""
        SELECT as_of, severity, value, threshold, evidence, org_id, manager_id
        FROM read_parquet([{paths}], hive_partitioning = true, union_by_name = true)
        WHERE code = $code AND (CASE WHEN loan_id <> '' THEN loan_id
                                     WHEN customer_id <> '' THEN customer_id
                                     ELSE manager_id END) = $subject
        ORDER BY as_of
    """
    rows = _query(sql, {"code": case.code, "subject": case.subject})
    for row in rows:
        if not isinstance(row["as_of"], dt.date):
            row["as_of"] = dt.date.fromisoformat(str(row["as_of"]))
    return rows


def _path(table: str, as_of: dt.date) -> str:
    return "'" + str(lake().partition(table, as_of) / PART_FILE).replace("'", "''") + "'"


def _query(sql: str, params: dict) -> list[dict]:
    with duckdb.connect() as con:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- 我的待办 ---------------------------------------------------------------------------


# a user's warning tasks counting more cases than this are kept a minute (per process):
# counting a million escalated or unassigned cases takes a few hundred milliseconds, and the
# navigation counts at every page; below it every read counts afresh
HEAVY_COUNT = 10_000
HEAVY_SECONDS = 60


def inbox_tasks(user, today: dt.date | None = None) -> list:
    """What the warnings ask of ``user`` (``common.inbox``): 待处理预警 (active cases
    assigned to them), 逾期升级预警 (directors: escalated active cases of their subtree),
    待分派预警 (risk managers, directors: 新建 in their subtree), 待关闭预警 (risk, credit
    department, directors: resolved or transferred by someone else — the checker's).
    Counts of more than ``HEAVY_COUNT`` cases are kept ``HEAVY_SECONDS`` (a new sync
    counts afresh)."""
    from django.core.cache import cache

    from loanquality.warnings.models import SyncedClose

    refresh(today)
    synced = SyncedClose.objects.order_by("-pk").values_list("pk", flat=True).first()
    key = f"warnings.inbox:{user.pk}:{synced}:{today}"
    kept = cache.get(key)
    if kept is not None:
        return kept
    tasks = _inbox_tasks(user, today or today_here())
    if max((t.count for t in tasks), default=0) > HEAVY_COUNT:
        cache.set(key, tasks, HEAVY_SECONDS)
    return tasks


def _inbox_tasks(user, today: dt.date) -> list:
    from loanquality.accounts.models import Role
    from loanquality.common.inbox import Task

    scope = scope_of(user)
    cases = Case.objects.in_scope(scope)
    # plain counts each an index-only scan (a filtered aggregate reads every row)
    mine = cases.filter(assignee=user, state__in=ACTIVE_STATES)
    tasks = [
        Task(
            "warnings.mine",
            "待处理预警",
            mine.count(),
            "/warnings/?assignee=me&state=active",
            mine.filter(due_on__lt=today).count(),
        )
    ]
    if user.role == Role.DIRECTOR:
        count = cases.filter(escalated_at__isnull=False, state__in=ACTIVE_STATES).count()
        tasks.append(
            Task(
                "warnings.escalated",
                "逾期升级预警",
                count,
                "/warnings/?state=active&overdue=1",
                count,
            )
        )
    if user.role in (Role.RISK, Role.DIRECTOR):
        new = cases.filter(state=State.NEW)
        tasks.append(
            Task(
                "warnings.assign",
                "待分派预警",
                new.count(),
                "/warnings/?state=new",
                new.filter(due_on__lt=today).count(),
            )
        )
    if user.role in (Role.RISK, Role.CREDIT_DEPT, Role.DIRECTOR):
        done = to_close(cases, user).values("state").annotate(count=Count("id"))
        by_state = {row["state"]: row["count"] for row in done}
        for state in (State.RESOLVED, State.TRANSFERRED):
            tasks.append(
                Task(
                    f"warnings.close.{state}",
                    f"待关闭预警（{state.label}）",
                    by_state.get(state, 0),
                    f"/warnings/?state={state}&checker=me",
                )
            )
    return tasks
