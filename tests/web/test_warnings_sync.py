"""A close's signals into warning cases: one case per (code, subject) while it is open,
assignment to the manager's user, due dates by severity, the history over closes, only the
newest close syncing, the catch-up at the next read, and escalation of overdue cases."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone
from signal_lake import latest, live_loans, next_month_end, publish_signals, signal

from loanquality.audit.models import AuditEntry
from loanquality.audit.runs import Operator
from loanquality.common.inbox import tasks_for
from loanquality.common.runtime import after_close
from loanquality.common.scope import Scope, org_tree, scope_of
from loanquality.engine.lake import Lake
from loanquality.warnings import selectors, sync
from loanquality.warnings.actions import SyncResult, ensure_synced, sync_close
from loanquality.warnings.models import Case, State, SyncedClose

CLI = Operator("tester", via="cli")


def actions_logged(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


@pytest.fixture
def three_loans(own_data_dir, coop_orgs):
    """Three live loans of the co-op's subtree, each with a manager."""
    loans = [loan for loan in live_loans(own_data_dir, coop_orgs) if loan["manager_id"]]
    return loans[0], loans[1], loans[2]


def test_a_close_opens_a_case_per_signal_due_by_severity_and_assigned_to_the_manager(
    own_data_dir, three_loans, make_user
):
    """Severity 3 / 2 / 1 is due in 7 / 15 / 30 days from the day it opens; a manager with
    a user (whose subtree holds the loan) gets it 已分派, a manager without one leaves it
    新建; one warning.sync audit row for the batch."""
    # given: the first loan's manager has a user at the loan's org, the others none
    first, second, third = three_loans
    manager = make_user("manager", "officer", first["org_id"])
    manager.staff_id = first["manager_id"]
    manager.save(update_fields=["staff_id"])
    as_of = latest(own_data_dir)
    close_id = publish_signals(
        own_data_dir,
        as_of,
        [
            signal("LTV_HIGH", first, 3, 0.82, 0.70),
            signal("OVD_FIRST", second, 2, 5.0, 0.0, manager_id="nobody-here"),
            signal("MAT3M", third, 1, 61.0, 90.0, manager_id=""),
        ],
    )
    today = dt.date(2026, 12, 1)
    # when the close is synced
    result = sync_close(as_of, actor=CLI, today=today)
    # then three cases, due 2026-12-01 + 7 / 15 / 30 days
    assert result == SyncResult(opened=3, updated=0, escalated=0)
    cases = {c.code: c for c in Case.objects.all()}
    assert cases["LTV_HIGH"].due_on == dt.date(2026, 12, 8)
    assert cases["OVD_FIRST"].due_on == dt.date(2026, 12, 16)
    assert cases["MAT3M"].due_on == dt.date(2026, 12, 31)
    assert {c.opened_on for c in cases.values()} == {today}
    # and the manager's case is theirs, the others wait for someone to assign them
    assert (cases["LTV_HIGH"].state, cases["LTV_HIGH"].assignee) == (State.ASSIGNED, manager)
    assert (cases["OVD_FIRST"].state, cases["OVD_FIRST"].assignee) == (State.NEW, None)
    assert (cases["MAT3M"].state, cases["MAT3M"].assignee) == (State.NEW, None)
    # and each case carries its signal's subject, figures and evidence
    ltv = cases["LTV_HIGH"]
    assert (ltv.subject, ltv.loan_id, ltv.org_id) == (
        first["loan_id"],
        first["loan_id"],
        first["org_id"],
    )
    assert (ltv.severity, ltv.value, ltv.threshold, ltv.times_fired) == (3, 0.82, 0.70, 1)
    assert ltv.first_as_of == ltv.last_as_of == as_of
    assert ltv.evidence == "LTV_HIGH 测试依据：0.82（阈值 0.7）"
    # and one audit row says what the sync did
    [row] = actions_logged("warning.sync")
    assert row.detail["opened"] == 3
    assert row.detail["close_id"] == close_id
    assert row.username == "tester"
    assert row.org_id == org_tree().root
    assert SyncedClose.objects.get(close_id=close_id).opened == 3


def test_a_manager_user_who_cannot_see_the_loan_is_not_assigned(
    own_data_dir, three_loans, make_user, places
):
    """The manager's user sits in another co-op (moved): the case would be out of their
    subtree, so it stays 新建."""
    first = three_loans[0]
    moved = make_user("moved", "officer", places.other_coop)
    moved.staff_id = first["manager_id"]
    moved.save(update_fields=["staff_id"])
    publish_signals(own_data_dir, latest(own_data_dir), [signal("LTV_HIGH", first, 3, 0.8, 0.7)])
    sync_close(latest(own_data_dir), actor=CLI)
    assert Case.objects.get().state == State.NEW


def test_a_signal_firing_again_updates_the_open_case_and_never_opens_a_second(
    own_data_dir, three_loans
):
    """The next close raising the same (code, subject) updates the case's figures, severity,
    last_as_of and times_fired (+1 per close, not per re-close of one date); the signal's
    history lists both closes."""
    # given a case opened at one close
    loan = three_loans[0]
    first_close = latest(own_data_dir)
    publish_signals(own_data_dir, first_close, [signal("DOWNGRADE", loan, 2, 2.0, 1.0)])
    sync_close(first_close, actor=CLI, today=dt.date(2026, 11, 1))
    case = Case.objects.get()
    # when the next month's close raises it again, now NPL (severity 3)
    next_close = next_month_end(first_close)
    publish_signals(
        own_data_dir,
        next_close,
        [signal("DOWNGRADE", loan, 3, 3.0, 2.0, evidence="风险分类由关注下迁为次级")],
    )
    result = sync_close(next_close, actor=CLI, today=dt.date(2026, 12, 1))
    # then the same case, updated, and no second one; due 2026-11-01 + 15 days = 11-16 at
    # severity 2, now the sooner of 11-16 and 11-01 + 7 days (severity 3) = 11-08; it is
    # overdue on 12-01 and escalates in the same sync
    assert result == SyncResult(opened=0, updated=1, escalated=1)
    again = Case.objects.get()
    assert again.pk == case.pk
    assert (again.severity, again.value, again.threshold) == (3, 3.0, 2.0)
    assert again.evidence == "风险分类由关注下迁为次级"
    assert (again.first_as_of, again.last_as_of, again.times_fired) == (
        first_close,
        next_close,
        2,
    )
    # the day it opened stays that of the first firing; the due date is brought forward
    assert (again.opened_on, again.due_on) == (dt.date(2026, 11, 1), dt.date(2026, 11, 8))
    assert again.escalated_at is not None
    # and closing the newest date again updates, without counting a third firing
    publish_signals(own_data_dir, next_close, [signal("DOWNGRADE", loan, 3, 3.5, 2.0)])
    assert sync_close(next_close, actor=CLI) == SyncResult(0, 1, 0)
    assert Case.objects.get().times_fired == 2
    assert Case.objects.get().value == 3.5
    assert Case.objects.get().due_on == dt.date(2026, 11, 8)  # same severity: unchanged
    # and the history shows the signal at each close, oldest first
    history = selectors.case_history(again)
    assert [(h["as_of"], h["severity"], h["value"]) for h in history] == [
        (first_close, 2, 2.0),
        (next_close, 3, 3.5),
    ]


def test_after_a_case_is_closed_the_signal_opens_a_new_one(own_data_dir, three_loans):
    loan = three_loans[0]
    publish_signals(own_data_dir, latest(own_data_dir), [signal("INT_ARREARS", loan, 2, 9, 0)])
    sync_close(latest(own_data_dir), actor=CLI)
    Case.objects.update(state=State.CLOSED)
    next_close = next_month_end(latest(own_data_dir))
    publish_signals(own_data_dir, next_close, [signal("INT_ARREARS", loan, 2, 12, 0)])
    assert sync_close(next_close, actor=CLI) == SyncResult(1, 0, 0)
    assert Case.objects.count() == 2
    reopened = Case.objects.exclude(state=State.CLOSED).get()
    assert (reopened.first_as_of, reopened.times_fired, reopened.value) == (next_close, 1, 12)


def test_an_untouched_notice_case_lapses_once_its_loan_leaves_the_window(
    own_data_dir, three_loans, make_user
):
    """A MAT3M / MAT1M case nobody has started closes when the next close no longer raises
    it (the loan moved into MAT1M's window, or was repaid); one being worked stays open,
    so does one already escalated (the directors', even untouched), and so does a case of
    any other code that stops firing."""
    # given at one close: MAT3M on the first and second loans, a MAT1M and an INT_ARREARS
    # on the third, the second's case started by its officer; and a MAT1M on a fourth loan
    # already escalated (untouched, 新建)
    first, second, third = three_loans
    fourth = next(
        r
        for r in live_loans(own_data_dir)
        if r["loan_id"] not in {first["loan_id"], second["loan_id"], third["loan_id"]}
    )
    close = latest(own_data_dir)
    publish_signals(
        own_data_dir,
        close,
        [
            signal("MAT3M", first, 1, 80, 92),
            signal("MAT3M", second, 1, 70, 92),
            signal("MAT1M", third, 2, 20, 30),
            signal("INT_ARREARS", third, 2, 5, 0),
            signal("MAT1M", fourth, 2, 10, 30),
        ],
    )
    sync_close(close, actor=CLI, today=dt.date(2026, 11, 3))
    Case.objects.filter(loan_id=second["loan_id"]).update(state=State.IN_PROGRESS)
    Case.objects.filter(loan_id=fourth["loan_id"]).update(escalated_at=timezone.now())
    # when the next close raises only MAT1M on the first loan (a month nearer maturity)
    next_close = next_month_end(close)
    publish_signals(own_data_dir, next_close, [signal("MAT1M", first, 2, 25, 30)])
    result = sync_close(next_close, actor=CLI, today=dt.date(2026, 12, 3))
    # then the first loan's MAT3M and the third's MAT1M lapse: 2 closed, with the reason
    # (the fourth's MAT1M, escalated, does not); the first's MAT1M opens; of the cases
    # left, INT_ARREARS (severity 2: due 11-03 + 15 = 11-18) is overdue on 12-03 and
    # escalates (the fourth's was escalated before: not counted again), the started MAT3M
    # (severity 1: due 11-03 + 30 = 12-03) is due today, not overdue
    assert result == SyncResult(opened=1, updated=0, escalated=1, lapsed=2)
    lapsed = Case.objects.filter(state=State.CLOSED)
    assert {(c.code, c.loan_id) for c in lapsed} == {
        ("MAT3M", first["loan_id"]),
        ("MAT1M", third["loan_id"]),
    }
    assert {c.close_comment for c in lapsed} == {sync.LAPSED_COMMENT}
    assert all(c.closed_at is not None and c.closed_by is None for c in lapsed)
    # and the started MAT3M case and the INT_ARREARS case stay open
    still_open = Case.objects.exclude(state=State.CLOSED)
    assert {(c.code, c.loan_id) for c in still_open} == {
        ("MAT3M", second["loan_id"]),
        ("INT_ARREARS", third["loan_id"]),
        ("MAT1M", first["loan_id"]),
        ("MAT1M", fourth["loan_id"]),
    }
    assert actions_logged("warning.sync")[-1].detail["lapsed"] == 2


def test_customer_and_officer_signals_have_their_subject(own_data_dir, three_loans):
    """Subject: the loan, else the customer (customer-level), else the officer."""
    loan = three_loans[0]
    publish_signals(
        own_data_dir,
        latest(own_data_dir),
        [
            signal("BUREAU_NPL", loan, 3, 120, 90, loan_id=""),
            signal("BOOK_SURGE", loan, 1, 0.45, 0.30, loan_id="", customer_id=""),
        ],
    )
    sync_close(latest(own_data_dir), actor=CLI)
    subjects = dict(Case.objects.values_list("code", "subject"))
    assert subjects == {"BUREAU_NPL": loan["customer_id"], "BOOK_SURGE": loan["manager_id"]}


def test_closing_an_older_date_again_opens_nothing(own_data_dir, three_loans):
    """Only the newest closed as-of syncs."""
    older = live_loans(own_data_dir)[0]
    earlier = Lake(own_data_dir).as_ofs("classified")[0]
    assert earlier < latest(own_data_dir)
    publish_signals(own_data_dir, earlier, [signal("MAT1M", older, 2, 20, 30)])
    assert sync_close(earlier, actor=CLI) == SyncResult(0, 0, 0)
    assert not Case.objects.exists()
    assert not actions_logged("warning.sync")


def test_a_read_syncs_the_newest_close_once_when_its_hook_did_not(own_data_dir, three_loans):
    """ensure_synced (every list and inbox read) syncs a close not synced yet, then finds
    it synced: a second read writes nothing."""
    publish_signals(own_data_dir, latest(own_data_dir), [signal("MAT1M", three_loans[0], 2, 9, 30)])
    assert ensure_synced() == SyncResult(1, 0, 0)
    assert ensure_synced() is None
    assert len(actions_logged("warning.sync")) == 1
    assert Case.objects.count() == 1


def test_a_failing_after_close_hook_leaves_the_close_published(
    own_data_dir, monkeypatch, caplog, three_loans
):
    """The close's own audit row and its results stand; the failure is logged; the next
    read syncs the close."""
    from loanquality.operations.actions import close_now

    # given a sync that fails
    def broken(*args, **kwargs):
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(sync, "sync_close", broken)
    as_of = latest(own_data_dir)
    # when the close runs
    with caplog.at_level(logging.ERROR, logger="loanquality.common.runtime"):
        result = close_now(CLI, as_of, wait=True)
    # then it is published and audited, and the failure logged
    assert result.as_of == as_of
    assert AuditEntry.objects.filter(action="close", target=str(as_of)).count() == 1
    assert "after-close hook of loanquality.warnings failed" in caplog.text
    # and once signals are there and the sync works again, a read catches up
    monkeypatch.undo()
    publish_signals(own_data_dir, as_of, [signal("MAT1M", three_loans[0], 2, 9, 30)])
    selectors.cases(scope_of_root())
    assert Case.objects.count() == 1


def scope_of_root() -> Scope:
    tree = org_tree()
    return Scope(tree.root, tuple(tree.subtree(tree.root)), tree)


def test_after_close_runs_every_apps_hook_and_names_the_failed(monkeypatch, caplog):
    from django.apps import apps

    config = apps.get_app_config("warnings")
    calls = []
    monkeypatch.setattr(
        type(config),
        "after_close",
        lambda self, as_of, actor, closed_on=None: calls.append((as_of, actor, closed_on)),
    )
    assert after_close(dt.date(2026, 11, 30), CLI) == []
    assert after_close(dt.date(2026, 11, 30), CLI, closed_on=dt.date(2026, 12, 3)) == []
    assert calls == [
        (dt.date(2026, 11, 30), CLI, None),
        (dt.date(2026, 11, 30), CLI, dt.date(2026, 12, 3)),
    ]

    def fails(self, as_of, actor, closed_on=None):
        raise ValueError("x")

    monkeypatch.setattr(type(config), "after_close", fails)
    with caplog.at_level(logging.ERROR):
        assert after_close(dt.date(2026, 11, 30), CLI) == ["loanquality.warnings"]


def test_overdue_cases_escalate_to_the_directors_above_and_no_one_else(
    own_data_dir, three_loans, make_user, places, director
):
    """A case past its due date is escalated at the next read (escalated_at set once, one
    warning.escalate row); it shows in the inbox of a director whose subtree holds its org,
    not in that of a director elsewhere, nor in an officer's list elsewhere."""
    # given a severity-3 case opened 20 days ago (due in 7) and a severity-1 one (due in 30)
    first, second = three_loans[:2]
    publish_signals(
        own_data_dir,
        latest(own_data_dir),
        [signal("LTV_HIGH", first, 3, 0.8, 0.7), signal("MAT3M", second, 1, 80, 90)],
    )
    opened = timezone.localdate() - dt.timedelta(days=20)
    assert sync_close(latest(own_data_dir), actor=CLI, today=opened).escalated == 0
    # when anyone reads a list
    late = list(selectors.cases(scope_of(director), overdue=True))
    # then the severity-3 case (due opened + 7, 13 days ago) is escalated, the other not
    assert [c.code for c in late] == ["LTV_HIGH"]
    ltv, mat = Case.objects.get(code="LTV_HIGH"), Case.objects.get(code="MAT3M")
    assert ltv.escalated_at is not None
    assert mat.escalated_at is None
    [row] = actions_logged("warning.escalate")
    assert row.detail["escalated"] == 1
    # and the co-op's director sees it among their tasks, a director elsewhere does not
    tasks = {t.key: t for t in tasks_for(director)}
    assert (tasks["warnings.escalated"].count, tasks["warnings.escalated"].overdue) == (1, 1)
    elsewhere = make_user("far-director", "director", places.other_coop)
    assert "warnings.escalated" not in {t.key for t in tasks_for(elsewhere)}
    far_officer = make_user("far-officer", "officer", places.other_coop)
    assert not selectors.cases(scope_of(far_officer)).exists()
    # and a second read escalates nothing again
    stamp = ltv.escalated_at
    selectors.cases(scope_of(director))
    assert Case.objects.get(code="LTV_HIGH").escalated_at == stamp
    assert len(actions_logged("warning.escalate")) == 1


def test_the_sync_is_bulk_a_few_queries_whatever_the_number_of_signals(
    own_data_dir, django_assert_max_num_queries
):
    """600 signals, half on open cases: the queries do not grow with the rows."""
    loans = live_loans(own_data_dir)[:600]
    as_of = latest(own_data_dir)
    publish_signals(own_data_dir, as_of, [signal("MAT3M", loan, 1, 80, 90) for loan in loans[:300]])
    sync_close(as_of, actor=CLI)
    publish_signals(own_data_dir, as_of, [signal("MAT3M", loan, 1, 70, 90) for loan in loans])
    with django_assert_max_num_queries(25):
        result = sync_close(as_of, actor=CLI)
    assert result == SyncResult(opened=300, updated=300, escalated=0)
    assert Case.objects.filter(value=70).count() == 600


def test_a_failing_sync_never_breaks_a_read_and_is_not_retried_for_ten_minutes(
    own_data_dir, three_loans, monkeypatch, caplog, director
):
    """A read whose sync fails logs it and answers with the cases as they are; the next
    reads of the same process within RETRY_AFTER (600 s) leave that close alone."""
    # given a close not synced yet, and a sync that fails
    publish_signals(own_data_dir, latest(own_data_dir), [signal("MAT1M", three_loans[0], 2, 9, 30)])
    calls, real = [], sync._apply

    def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(sync, "_apply", broken)
    monkeypatch.setattr(selectors, "_failed", {"close_id": None, "at": 0.0})
    # when the list and the inbox are read
    with caplog.at_level(logging.ERROR, logger="loanquality.warnings.selectors"):
        assert list(selectors.cases(scope_of(director))) == []
        assert {t.key for t in selectors.inbox_tasks(director)} >= {"warnings.assign"}
    # then both answered, the failure was logged once, and _apply ran once
    assert "syncing the newest close" in caplog.text
    assert len(calls) == 1
    assert not SyncedClose.objects.exists()
    # and once the ten minutes are over (601 s later) the next read tries again
    clock = selectors.time.monotonic()
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock + 601)
    monkeypatch.setattr(sync, "_apply", real)
    selectors.cases(scope_of(director))
    assert Case.objects.count() == 1


def test_a_case_history_reads_only_the_closes_of_its_life(own_data_dir, three_loans):
    """The signal fired at two closes; a case opened at the second (its first_as_of) lists
    that close alone — the partition before its first as-of is not read."""
    loan = three_loans[0]
    first_close = latest(own_data_dir)
    publish_signals(own_data_dir, first_close, [signal("OVD_FIRST", loan, 2, 3.0, 0.0)])
    next_close = next_month_end(first_close)
    publish_signals(own_data_dir, next_close, [signal("OVD_FIRST", loan, 2, 33.0, 0.0)])
    sync_close(next_close, actor=CLI)
    case = Case.objects.get()
    assert (case.first_as_of, case.last_as_of) == (next_close, next_close)
    assert [(h["as_of"], h["value"]) for h in selectors.case_history(case)] == [(next_close, 33.0)]


def test_the_sync_reads_the_signals_a_chunk_at_a_time(own_data_dir, monkeypatch):
    """CHUNK 2 and 5 signals: _apply gets batches of 2, 2 and 1 rows (never the whole
    partition), and all 5 cases open; the sync row counts the 5 signals."""
    monkeypatch.setattr(sync, "CHUNK", 2)
    loans = live_loans(own_data_dir)[:5]
    as_of = latest(own_data_dir)
    close_id = publish_signals(own_data_dir, as_of, [signal("MAT3M", x, 1, 80, 90) for x in loans])
    sizes, real = [], sync._apply

    def counted(batches, *args):
        def each():
            for batch in batches:
                sizes.append(batch.num_rows)
                yield batch

        return real(each(), *args)

    monkeypatch.setattr(sync, "_apply", counted)
    assert sync_close(as_of, actor=CLI) == SyncResult(opened=5)
    assert sizes == [2, 2, 1]
    assert SyncedClose.objects.get(close_id=close_id).signals == 5
    assert {c.subject for c in Case.objects.all()} == {x["loan_id"] for x in loans}


def test_the_after_close_sync_waits_for_the_lock_and_a_read_does_not(own_data_dir, three_loans):
    """PostgreSQL: sync_close takes pg_advisory_xact_lock (waits), the read path's
    ensure_synced pg_try_advisory_xact_lock (gives up when a sync holds it)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's")
    as_of = latest(own_data_dir)
    publish_signals(own_data_dir, as_of, [signal("MAT1M", three_loans[0], 2, 9, 30)])
    with CaptureQueriesContext(connection) as read:
        ensure_synced()
    publish_signals(own_data_dir, as_of, [signal("MAT1M", three_loans[0], 2, 8, 30)])
    with CaptureQueriesContext(connection) as after_close:
        sync_close(as_of, actor=CLI)
    assert any("pg_try_advisory_xact_lock" in q["sql"] for q in read.captured_queries)
    waited = [q["sql"] for q in after_close.captured_queries if "advisory" in q["sql"]]
    assert waited
    assert all("pg_advisory_xact_lock" in q for q in waited)


def test_ids_and_names_as_long_as_an_import_allows_them_are_kept_whole(own_data_dir):
    """A 200-character loan / customer / manager id and a 400-character customer name (the
    columns' lengths) are stored as they are, none cut."""
    loan = live_loans(own_data_dir)[0]
    long = {
        "loan_id": "L" * 200,
        "customer_id": "C" * 200,
        "manager_id": "M" * 200,
        "customer_name": "名" * 400,
    }
    publish_signals(own_data_dir, latest(own_data_dir), [signal("MAT3M", loan, 1, 80, 90, **long)])
    assert sync_close(latest(own_data_dir), actor=CLI) == SyncResult(opened=1)
    case = Case.objects.get()
    assert (case.subject, case.loan_id, case.customer_id, case.manager_id) == (
        "L" * 200,
        "L" * 200,
        "C" * 200,
        "M" * 200,
    )
    assert case.customer_name == "名" * 400
