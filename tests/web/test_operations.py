"""Imports and closes from the web: only the legal entity's credit department runs them, a
close whose process died is failed at once, and a far smaller ledger needs confirming."""

from __future__ import annotations

import io
import subprocess
import sys

import pyarrow.parquet as pq
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import logged_in
from helpers import snapshot
from loanquality.engine.lake import Lake
from loanquality.operations import actions
from loanquality.operations.actions import (
    WORKERS,
    _this_worker,
    _wait_for_earlier_closes,
    fail_dead_runs,
    start_close,
)
from loanquality.operations.models import CloseRun, Status


def parquet_upload(table, name="loans.parquet") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def test_a_branch_credit_department_may_neither_import_nor_close(make_user, places, client):
    """The ledger and its close are the whole bank's: a 信贷管理部 user of a co-op gets a
    Chinese reason, no menu entry, and the API refuses them too."""
    # given
    branch = make_user("branch-credit", "credit_dept", places.coop)
    pages = logged_in(branch)
    # when / then: the pages refuse with the reason
    for page in ("/operations/import/", "/operations/close/"):
        answer = pages.get(page)
        assert answer.status_code == 403
        assert "只能由法人机构" in answer.content.decode()
    assert pages.post("/operations/close/", {"as_of": "2024-01-31"}).status_code == 403
    # the navigation does not offer them
    assert "数据导入" not in pages.get("/").content.decode()
    # and neither does the API
    token = client.post(
        "/api/v1/auth/token",
        {"username": "branch-credit", "password": "a-long-test-password"},
        content_type="application/json",
    ).json()["token"]
    upload = {"as_of": "2030-01-31", "loans": SimpleUploadedFile("loans.csv", b"loan_id\n")}
    answer = client.post("/api/v1/imports", upload, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 403
    assert "只能由法人机构" in answer.json()["detail"]


def test_the_head_office_credit_department_sees_the_operations(head_office):
    assert "数据导入" in logged_in(head_office).get("/").content.decode()


def hold_worker_lock(data_dir, name) -> subprocess.Popen:
    """A process that holds a worker lock until it is killed, as a server process does."""
    code = (
        "import sys, time; from pathlib import Path;"
        "from loanquality.engine.locks import hold_for_life;"
        "hold_for_life(Path(sys.argv[1])); print('held', flush=True); time.sleep(120)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir / WORKERS / f"{name}.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_close_whose_process_died_is_failed_at_once(head_office, own_data_dir):
    """No two-hour wait: the worker's lock is released by the OS when it dies."""
    # given: a close running in another server process
    as_of = Lake(own_data_dir).as_ofs("loans")[-1]
    worker = hold_worker_lock(own_data_dir, "other-worker")
    run = CloseRun.objects.create(as_of=as_of, user=head_office, worker="other-worker")
    # then: while it lives, the run is running and a second close is refused
    assert fail_dead_runs() == []
    answer = logged_in(head_office).post("/operations/close/", {"as_of": as_of}, follow=True)
    assert "已有结账正在进行" in answer.content.decode()
    # when: its process is killed
    worker.kill()
    worker.wait()
    # then: the run is failed at the next look (once), and a new close runs
    assert [r.pk for r in fail_dead_runs()] == [run.pk]
    assert fail_dead_runs() == []
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert "进程已终止" in run.error
    again = start_close(head_office, as_of)
    again.refresh_from_db()
    assert again.status == Status.DONE, again.error


def test_a_far_smaller_ledger_must_be_confirmed_on_the_page(head_office, own_data_dir):
    """20 loans would replace the ≈ 1,500 of the latest date (20 < 50 % of them): refused,
    with the reason and what was typed kept; confirmed, it replaces them and the page says
    the date had been closed."""
    # given
    lake = Lake(own_data_dir)
    as_of = lake.as_ofs("loans")[-1]
    ledger = lake.read("loans", as_of)
    before = snapshot(own_data_dir / "lake")
    client = logged_in(head_office)
    # when
    refused = client.post(
        "/operations/import/", {"as_of": as_of, "loans": parquet_upload(ledger.slice(0, 20))}
    )
    # then
    text = refused.content.decode()
    assert refused.status_code == 400
    assert f"本次台账仅 20 笔，将替换 {as_of} 已导入的 {ledger.num_rows:,} 笔" in text
    assert f'value="{as_of}"' in text
    assert snapshot(own_data_dir / "lake") == before
    # when: confirmed
    done = client.post(
        "/operations/import/",
        {"as_of": as_of, "loans": parquet_upload(ledger.slice(0, 20)), "replace_smaller": "on"},
    )
    # then
    assert done.status_code == 200
    assert lake.read("loans", as_of).num_rows == 20
    assert "该报告日已结账" in done.content.decode()


def waited(seconds):
    raise AssertionError(f"waited {seconds} s for a close that is dead")


def test_a_queued_reclose_does_not_wait_for_a_dead_close(head_office, own_data_dir, monkeypatch):
    """A re-close queued behind a close whose process died starts at once."""
    # given: a dead close, then a queued one of this process
    as_of = Lake(own_data_dir).as_ofs("loans")[-1]
    dead = CloseRun.objects.create(as_of=as_of, user=head_office, worker="gone-worker")
    queued = CloseRun.objects.create(as_of=as_of, user=head_office, worker=_this_worker())
    # when: it would wait (sleep) only while an earlier close lives
    monkeypatch.setattr(actions.time, "sleep", waited)
    _wait_for_earlier_closes(queued)
    # then: it returned at once, and the dead one is failed
    dead.refresh_from_db()
    assert dead.status == Status.FAILED


def test_ledger_uploads_over_the_limit_are_refused_together(head_office, own_data_dir, monkeypatch):
    """A 100-byte cap: a 120-byte ledger and a 150-byte org table are both named, and
    nothing is written."""
    # given
    monkeypatch.setenv("LOANQUALITY_MAX_UPLOAD_BYTES", "100")
    before = snapshot(own_data_dir)
    uploads = {
        "as_of": "2030-01-31",
        "loans": SimpleUploadedFile("loans.csv", b"x" * 120),
        "orgs": SimpleUploadedFile("orgs.csv", b"y" * 150),
    }
    # when
    page = logged_in(head_office).post("/operations/import/", uploads)
    # then
    text = page.content.decode()
    assert page.status_code == 400
    assert (
        "loans.csv：上传文件大小达 120 字节，上限为 100 字节（设置项 LOANQUALITY_MAX_UPLOAD_BYTES）"
        in text
    )
    assert "orgs.csv：上传文件大小达 150 字节" in text
    assert snapshot(own_data_dir) == before
