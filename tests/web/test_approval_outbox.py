"""Approvals that take effect wholly: an approval commits with its outbox row; the close
it starts publishes the approved list, closes its dates and only then marks the row done.
A publish that fails (a full disk), or a close that does not finish, leaves the approval
standing and the row pending, and the next close (or the server's next start) applies it."""

from __future__ import annotations

import datetime as dt
import errno
import threading

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from loanquality.audit.models import AuditEntry
from loanquality.audit.readable import action_name
from loanquality.engine import overrides as engine_overrides
from loanquality.engine.close import CLOSE_STEPS
from loanquality.engine.lake import Lake
from loanquality.operations.actions import complete_pending_approvals, start_close
from loanquality.operations.models import CloseRun
from loanquality.operations.models import Status as RunStatus
from loanquality.overrides import actions, outbox
from loanquality.overrides.models import ApprovalOutbox, Override, Status


def dates(data_dir):
    return Lake(data_dir).as_ofs("classified")


def row_at(data_dir, loan_id: str, as_of) -> dict:
    table = Lake(data_dir).read("classified", as_of)
    return table.filter(pc.equal(table.column("loan_id"), loan_id)).to_pylist()[0]


def normal_loans(data_dir, orgs, count: int) -> list[dict]:
    """Live 正常 loans of the latest close in ``orgs`` that the first close holds too."""
    first, latest = dates(data_dir)
    earlier = {r["loan_id"] for r in Lake(data_dir).read("classified", first).to_pylist()}
    found = [
        r
        for r in Lake(data_dir).read("classified", latest).to_pylist()
        if r["org_id"] in orgs
        and r["final_category"] == 1
        and r["rule_category"] == 1
        and r["balance"] > 0
        and not r["written_off"]
        and r["loan_id"] in earlier
    ]
    return found[:count]


def disk_full(data_dir, rows):
    raise OSError(errno.ENOSPC, "No space left on device")


def applied_rows() -> list[tuple]:
    audit = AuditEntry.objects.filter(action="override.apply").order_by("seq")
    return [(a.detail["override"], a.username, a.target) for a in audit]


def test_an_approval_writes_its_outbox_row_and_completes_it(
    own_data_dir, risk, director, coop_orgs
):
    (loan,) = normal_loans(own_data_dir, coop_orgs, 1)
    latest = dates(own_data_dir)[-1]
    override = actions.propose(risk, loan["loan_id"], latest, 3, "主营停产")
    # the maker's own approval is refused: no decision, no outbox row
    with pytest.raises(PermissionDenied):
        actions.approve(risk, override.pk)
    assert not ApprovalOutbox.objects.exists()

    actions.approve(director, override.pk, "同意")

    row = ApprovalOutbox.objects.get()
    assert (row.override_id, row.as_of) == (override.pk, latest)
    assert row.done_at is not None  # the close the approval started applied it
    published = pq.read_table(own_data_dir / "overrides.parquet").to_pylist()
    assert [(r["override_id"], r["loan_id"], r["category"]) for r in published] == [
        (str(override.pk), loan["loan_id"], 3)
    ]
    after = row_at(own_data_dir, loan["loan_id"], latest)
    assert (after["rule_category"], after["final_category"]) == (1, 3)  # 正常 -> 次级
    assert after["override_id"] == str(override.pk)
    # in force from that close on: audited on the loan, as the approver whose close it was
    reclose = CloseRun.objects.get(cause=f"认定#{override.pk} 生效")
    assert applied_rows() == [(override.pk, "director", loan["loan_id"])]
    assert AuditEntry.objects.get(action="override.apply").detail["run"] == reclose.pk


def test_a_failed_publish_leaves_the_approval_standing_and_the_next_close_applies_it(
    own_data_dir, risk, director, head_office, coop_orgs, monkeypatch
):
    first_loan, loan = normal_loans(own_data_dir, coop_orgs, 2)
    first, latest = dates(own_data_dir)
    earlier = actions.propose(risk, first_loan["loan_id"], latest, 2, "行业下行")
    actions.approve(director, earlier.pk, "同意")  # a list is published: it must stay as it is
    published = (own_data_dir / "overrides.parquet").read_bytes()
    at_first = row_at(own_data_dir, loan["loan_id"], first)

    # when: the disk is full while the approval publishes
    monkeypatch.setattr(engine_overrides, "write_approved", disk_full)
    override = actions.propose(risk, loan["loan_id"], latest, 3, "主营停产")
    actions.approve(director, override.pk, "同意")

    # then: the approval and its audit row stand, its outbox row is pending, the list and
    # the loan's category are as before, and the close the approval started says why
    assert Override.objects.get(pk=override.pk).status == Status.APPROVED
    approval = AuditEntry.objects.get(action="override.approve", target=loan["loan_id"])
    assert approval.detail["after"] == {"category": 3, "status": "approved"}
    assert ApprovalOutbox.objects.get(override=override).done_at is None
    assert (own_data_dir / "overrides.parquet").read_bytes() == published
    assert row_at(own_data_dir, loan["loan_id"], latest)["final_category"] == 1
    reclose = CloseRun.objects.get(cause=f"认定#{override.pk} 生效")
    assert reclose.status == RunStatus.FAILED
    assert "已通过的认定未能发布" in reclose.error
    assert "No space left on device" in reclose.error
    assert applied_rows() == [(earlier.pk, "director", first_loan["loan_id"])]  # the first only

    # when: the disk has room again and the first date is closed again
    monkeypatch.undo()
    run = start_close(head_office, first)

    # then: the close published the approval first and covered every date from the
    # approval's on: the loan is 次级 at the latest date, by this 认定
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    assert run.steps_total == 2 * (CLOSE_STEPS + 1)  # the first date, then the latest
    closes = AuditEntry.objects.filter(action="close", detail__run=run.pk).order_by("seq")
    assert [c.target for c in closes] == [str(first), str(latest)]
    assert ApprovalOutbox.objects.get(override=override).done_at is not None
    after = row_at(own_data_dir, loan["loan_id"], latest)
    assert (after["rule_category"], after["final_category"]) == (1, 3)
    assert after["override_id"] == str(override.pk)
    again = row_at(own_data_dir, loan["loan_id"], first)  # a 认定 applies from its date on
    assert (again["final_category"], again["override_id"]) == (at_first["final_category"], None)
    assert row_at(own_data_dir, first_loan["loan_id"], latest)["final_category"] == 2
    # the approval in force is audited, as the close's user, on the loan
    assert applied_rows()[-1] == (override.pk, "credit", loan["loan_id"])
    entry = AuditEntry.objects.filter(action="override.apply").latest("seq")
    assert entry.detail["run"] == run.pk
    assert entry.detail["as_of"] == str(latest)
    assert entry.org_id == loan["org_id"]
    assert action_name("override.apply") == "认定生效（已重新结账）"


def test_marking_twice_is_a_no_op_and_a_close_that_fails_applies_nothing(
    own_data_dir, risk, director, head_office, coop_orgs, monkeypatch
):
    from loanquality.operations import actions as operations

    (loan,) = normal_loans(own_data_dir, coop_orgs, 1)
    first, latest = dates(own_data_dir)
    override = actions.propose(risk, loan["loan_id"], latest, 4, "借款人失联")
    with monkeypatch.context() as patched:
        patched.setattr(engine_overrides, "write_approved", disk_full)
        actions.approve(director, override.pk, "同意")
    assert not (own_data_dir / "overrides.parquet").exists()

    # when: a close publishes the list but its close of the latest date fails
    real_close = operations.close_now

    def failing_latest(actor, as_of, **kwargs):
        if as_of == latest:
            raise RuntimeError("磁盘故障")
        return real_close(actor, as_of, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(operations, "close_now", failing_latest)
        run = start_close(head_office, first)
    run.refresh_from_db()
    # then: the run failed, the list holds the 认定, but it is not in force: still pending
    assert (run.status, run.error) == (RunStatus.FAILED, "磁盘故障")
    path = own_data_dir / "overrides.parquet"
    assert [r["override_id"] for r in pq.read_table(path).to_pylist()] == [str(override.pk)]
    assert ApprovalOutbox.objects.get().done_at is None
    assert applied_rows() == []

    # marking (as a close does once its dates are published) audits once, as the system
    rows = outbox.pending()
    assert outbox.mark_applied(rows) == [override.pk]
    assert applied_rows() == [(override.pk, "system", loan["loan_id"])]
    assert outbox.mark_applied(rows) == []  # again: nothing marked, nothing audited
    assert outbox.pending() == []
    assert applied_rows() == [(override.pk, "system", loan["loan_id"])]


def test_the_servers_next_start_closes_again_from_the_pending_approval(
    own_data_dir, risk, director, coop_orgs, monkeypatch, settings
):
    (loan,) = normal_loans(own_data_dir, coop_orgs, 1)
    latest = dates(own_data_dir)[-1]
    assert complete_pending_approvals() is None  # nothing pending: nothing started
    override = actions.propose(risk, loan["loan_id"], latest, 5, "借款人死亡，无财产")
    with monkeypatch.context() as patched:
        patched.setattr(engine_overrides, "write_approved", disk_full)
        actions.approve(director, override.pk, "同意")
    assert row_at(own_data_dir, loan["loan_id"], latest)["final_category"] == 1

    # as the server's start calls it, before its workers: closed in this thread, though
    # the server's closes run in threads of their own
    settings.CLOSE_IN_BACKGROUND = True
    run = complete_pending_approvals(wait=True)

    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    assert (run.user, run.as_of, run.cause) == (
        director,
        latest,
        f"认定#{override.pk} 生效（补发布）",
    )
    assert ApprovalOutbox.objects.get(override=override).done_at is not None
    assert row_at(own_data_dir, loan["loan_id"], latest)["final_category"] == 5  # 正常 -> 损失
    assert applied_rows() == [(override.pk, "director", loan["loan_id"])]
    assert complete_pending_approvals() is None


# --- two processes at once ---------------------------------------------------------------


def test_markings_at_once_audit_once(
    flushable_audit_log, own_data_dir, risk, director, coop_orgs, monkeypatch, tmp_path
):
    """Four closes that finished at once mark a committed pending approval: one marks and
    audits it; the others find it marked. On PostgreSQL they run at once (the conditional
    update decides); SQLite takes one writer at a time (and its shared in-memory test
    database says "table is locked" rather than wait), so there they take turns."""
    monkeypatch.setenv("LOANQUALITY_AUDIT_CHECKPOINT", str(tmp_path / "audit_checkpoint.jsonl"))
    (loan,) = normal_loans(own_data_dir, coop_orgs, 1)
    latest = dates(own_data_dir)[-1]
    override = actions.propose(risk, loan["loan_id"], latest, 3, "主营停产")
    with monkeypatch.context() as patched:
        patched.setattr(engine_overrides, "write_approved", disk_full)
        actions.approve(director, override.pk, "同意")
    assert ApprovalOutbox.objects.get().done_at is None

    rows = outbox.pending()
    clients = 4
    turns = threading.Semaphore(1 if connection.vendor == "sqlite" else clients)
    start = threading.Barrier(clients)
    results, errors = [], []

    def complete():
        try:
            start.wait(timeout=20)
            with turns:
                results.append(outbox.mark_applied(rows))
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results, key=bool) == [[]] * 3 + [[override.pk]]
    assert ApprovalOutbox.objects.get().done_at is not None
    assert applied_rows() == [(override.pk, "system", loan["loan_id"])]


def test_a_command_line_close_applies_an_unpublished_approval_first(
    own_data_dir, risk, director, coop_orgs, monkeypatch
):
    from loanquality.operations.actions import Operator, close_with_pending_approvals

    (loan,) = normal_loans(own_data_dir, coop_orgs, 1)
    first, latest = dates(own_data_dir)
    override = actions.propose(risk, loan["loan_id"], latest, 4, "涉诉")
    monkeypatch.setattr(engine_overrides, "write_approved", disk_full)
    actions.approve(director, override.pk, "同意")  # committed; its publish failed
    monkeypatch.undo()
    assert row_at(own_data_dir, loan["loan_id"], latest)["final_category"] == 1

    # when: `loanquality close` of the first date, as the OS user
    results = close_with_pending_approvals(Operator("zhang", via="cli"), first)

    # then: the list is published first, and both dates closed (the 认定 applies from the
    # latest, the first closed as asked): the loan is 可疑 at the latest close only
    assert [r.as_of for r in results] == [first, latest]
    assert row_at(own_data_dir, loan["loan_id"], latest)["final_category"] == 4
    assert row_at(own_data_dir, loan["loan_id"], first)["final_category"] == 1
    assert ApprovalOutbox.objects.get().done_at is not None
    assert applied_rows() == [(override.pk, "zhang", loan["loan_id"])]
    assert AuditEntry.objects.get(action="override.apply").detail["via"] == "cli"


def test_a_command_line_close_of_a_date_never_imported_publishes_nothing(
    own_data_dir, risk, director, coop_orgs, monkeypatch
):
    from loanquality.engine.problems import InputRejected
    from loanquality.operations.actions import Operator, close_with_pending_approvals

    (loan,) = normal_loans(own_data_dir, coop_orgs, 1)
    latest = dates(own_data_dir)[-1]
    override = actions.propose(risk, loan["loan_id"], latest, 3, "主营停产")
    monkeypatch.setattr(engine_overrides, "write_approved", disk_full)
    actions.approve(director, override.pk, "同意")
    monkeypatch.undo()
    with pytest.raises(InputRejected, match="2031-01-31"):
        close_with_pending_approvals(Operator("zhang", via="cli"), dt.date(2031, 1, 31))
    assert not (own_data_dir / "overrides.parquet").exists()
    assert ApprovalOutbox.objects.get().done_at is None
