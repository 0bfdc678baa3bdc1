"""The audit log: a keyed MAC chain and a checkpoint outside the database that `verify`
checks against a database writer, the viewer scoped to the user's orgs, its Excel export."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import importlib
import io
import itertools
import json
import os

import openpyxl
import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.utils import timezone

from conftest import logged_in
from loanquality.accounts.actions import change_post, note_login
from loanquality.audit.actions import record, verify_log
from loanquality.audit.chain import GENESIS, entry_hash
from loanquality.audit.models import AuditEntry


def tamper(sql: str, params: list) -> None:
    """What someone with database access might do: switch the guard off, then write."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # so the table may be altered
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_append_only")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        cursor.execute(sql, params)


def rehash_from(seq: int, **edits) -> None:
    """The attacker knows the code but not the key: edit row ``seq`` and recompute its
    hash and every later row's the way ``entry_hash`` does, so that every link holds."""
    prev_hash = AuditEntry.objects.get(seq=seq - 1).hash if seq > 1 else GENESIS
    for row in list(AuditEntry.objects.filter(seq__gte=seq).order_by("seq")):
        if row.seq == seq:
            for field, value in edits.items():
                setattr(row, field, value)
        row.prev_hash = prev_hash
        row.hash = entry_hash(row)
        tamper(
            "UPDATE audit_auditentry SET target = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [row.target, row.prev_hash, row.hash, row.seq],
        )
        prev_hash = row.hash


@pytest.fixture(autouse=True)
def checkpoint(tmp_path, monkeypatch):
    """Each test's own checkpoint file (the shared bank's data dir is not written)."""
    path = tmp_path / "audit_checkpoint.jsonl"
    monkeypatch.setenv("LOANQUALITY_AUDIT_CHECKPOINT", str(path))
    return path


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the commit of each audited change runs (the test's transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def five_entries(db, committed):
    with committed():
        for n in range(5):
            record("test.step", username="someone", target=f"T{n}", n=n)


def test_each_row_links_to_the_one_before_with_a_keyed_mac(five_entries, checkpoint):
    """Row 1's MAC is HMAC-SHA256 under the audit key of the genesis link and its content;
    every row carries the one before; the checkpoint holds each head (count, MAC)."""
    rows = list(AuditEntry.objects.order_by("seq"))
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    at = rows[0].at.astimezone(dt.UTC).isoformat()
    content = f'[1,"{at}",null,"someone","test.step","T0","",{{"n":0}}]'
    key = os.environ["LOANQUALITY_AUDIT_KEY"].encode()
    expected = hmac.new(key, (GENESIS + content).encode(), hashlib.sha256).hexdigest()
    assert rows[0].hash == expected
    heads = [json.loads(line) for line in checkpoint.read_text().splitlines()]
    assert [(h["count"], h["mac"]) for h in heads] == [(r.seq, r.hash) for r in rows]
    result = verify_log()
    assert (result.entries, result.head_mac, result.broken) == (5, rows[-1].hash, None)


def test_verify_names_an_edited_row(five_entries):
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = 3", ["edited"])
    broken = verify_log().broken
    assert broken.seq == 3
    assert "写入后被修改" in broken.chinese
    assert "changed" in broken.english


def test_verify_names_a_deleted_row(five_entries):
    tamper("DELETE FROM audit_auditentry WHERE seq = 2", [])
    broken = verify_log().broken
    assert broken.seq == 2
    assert broken.chinese.startswith("第 2 条审计记录缺失")


def test_deleting_the_last_rows_is_caught_by_the_checkpoint(five_entries):
    """Rows 4 and 5 deleted: the chain of 1-3 holds, but the checkpoint saw 5 rows."""
    tamper("DELETE FROM audit_auditentry WHERE seq >= 4", [])
    broken = verify_log().broken
    assert broken.seq == 4
    assert broken.chinese.startswith("第 4 至第 5 条审计记录缺失")


def test_deleting_every_row_is_caught_by_the_checkpoint(five_entries):
    tamper("DELETE FROM audit_auditentry", [])
    broken = verify_log().broken
    assert broken.seq == 1
    assert "checkpoint records 5 entries, the log holds 0" in broken.english


def test_an_edited_row_with_every_later_hash_recomputed_is_named(five_entries):
    """Without the key the attacker's recomputed hashes are not MACs: row 3 is named."""
    rehash_from(3, target="edited")
    broken = verify_log().broken
    assert broken.seq == 3
    assert "changed" in broken.english


def test_a_forged_approval_appended_is_named(five_entries):
    """A row 6 linked to row 5 and hashed the way the code hashes, but not under the key."""
    last = AuditEntry.objects.get(seq=5)
    forged = AuditEntry(
        seq=6,
        at=last.at,
        username="director",
        action="override.approve",
        target="LOAN-1",
        org_id="",
        detail={"category": 1},
        prev_hash=last.hash,
    )
    forged.hash = entry_hash(forged)
    forged.save()
    broken = verify_log().broken
    assert broken.seq == 6
    assert "forged" in broken.english


def test_a_row_whose_link_was_edited_is_named_itself_not_the_row_before(five_entries):
    """Row 3 intact but its link to row 2 rewritten (with its own hash made to match):
    row 3 is the one changed; row 2 was not touched and is not blamed."""
    row = AuditEntry.objects.get(seq=3)
    row.prev_hash = "f" * 64
    tamper(
        "UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE seq = 3",
        [row.prev_hash, entry_hash(row)],
    )
    broken = verify_log().broken
    assert broken.seq == 3
    assert "#2" not in broken.english
    assert "第 2 条" not in broken.chinese


def test_a_row_rewritten_with_a_fresh_hash_is_named_itself(five_entries):
    """Recomputing only the edited row's hash: row 3 is named, not row 4 after it."""
    row = AuditEntry.objects.get(seq=3)
    row.target = "forged"
    tamper(
        "UPDATE audit_auditentry SET target = 'forged', hash = %s WHERE seq = 3",
        [entry_hash(row)],
    )
    broken = verify_log().broken
    assert broken.seq == 3


def test_rows_deleted_from_the_end_and_written_again_are_caught(five_entries, committed):
    """Rows 4-5 deleted, then the application appends three honest rows (4, 5, 6): the
    chain holds under the key, but rows 4 and 5 are not the ones the checkpoint saw."""
    tamper("DELETE FROM audit_auditentry WHERE seq >= 4", [])
    with committed():
        for n in range(3):
            record("test.again", username="someone", n=n)
    broken = verify_log().broken
    assert broken.seq == 4
    assert "检查点" in broken.chinese


def test_a_rolled_back_change_leaves_no_checkpoint_line(five_entries, committed, checkpoint):
    """An audited change whose transaction rolls back writes no head: the log verifies."""
    with committed(), contextlib.suppress(RuntimeError), transaction.atomic():
        record("test.step", username="someone", target="T5", n=5)
        raise RuntimeError("the change failed after its audit row")
    assert len(checkpoint.read_text().splitlines()) == 5
    result = verify_log()
    assert (result.entries, result.broken) == (5, None)


def test_a_checkpoint_behind_the_chain_is_accepted(five_entries):
    """Committed but the head not yet written (a crash in between): still intact."""
    record("test.step", username="someone", target="T5", n=5)  # its commit never runs
    result = verify_log()
    assert (result.entries, result.broken) == (6, None)


def rows_hashed_the_old_way(count: int) -> None:
    """A log as the first scheme wrote it: plain SHA-256 links, no key, no checkpoint."""
    prev_hash = GENESIS
    for seq in range(1, count + 1):
        row = AuditEntry(
            seq=seq,
            at=timezone.now(),
            username="someone",
            action="test.old",
            target=f"O{seq}",
            org_id="",
            detail={},
            prev_hash=prev_hash,
        )
        row.hash = entry_hash(row)
        row.save()
        prev_hash = row.hash


def test_a_log_hashed_the_old_way_is_carried_over_as_it_stands(db, committed, checkpoint):
    """The upgrade's migration records the three old rows in the checkpoint (legacy 3,
    row 3's hash); the next row is MAC'd and links to row 3; the whole log verifies."""
    rows_hashed_the_old_way(3)
    old_hash = AuditEntry.objects.get(seq=3).hash
    upgrade = importlib.import_module("loanquality.audit.migrations.0005_key_and_checkpoint")
    upgrade.anchor_the_old_rows(django_apps, None)
    with committed():
        new = record("test.new", username="someone")
    first, second = (json.loads(line) for line in checkpoint.read_text().splitlines())
    assert (first["count"], first["mac"], first["legacy"]) == (3, old_hash, 3)
    assert (second["count"], second["mac"], new.prev_hash) == (4, new.hash, old_hash)
    result = verify_log()
    assert (result.entries, result.broken) == (4, None)


def test_an_old_row_rewritten_with_the_hashes_after_it_recomputed_is_caught(db, committed):
    """Old row 2 edited and rows 2-3 hashed again the old way (which needs no key): the old
    rows agree among themselves, but row 3 is no longer what the checkpoint recorded."""
    rows_hashed_the_old_way(3)
    upgrade = importlib.import_module("loanquality.audit.migrations.0005_key_and_checkpoint")
    upgrade.anchor_the_old_rows(django_apps, None)
    with committed():
        record("test.new", username="someone")
    rehash_from(2, target="rewritten")
    broken = verify_log().broken
    assert broken.seq == 3
    assert "entries #1 to #3 were hashed the old way" in broken.english


def test_an_old_row_edited_in_place_is_named(db, committed):
    rows_hashed_the_old_way(3)
    upgrade = importlib.import_module("loanquality.audit.migrations.0005_key_and_checkpoint")
    upgrade.anchor_the_old_rows(django_apps, None)
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = 2", ["edited"])
    broken = verify_log().broken
    assert broken.seq == 2
    assert "哈希不符" in broken.chinese


def test_a_log_without_its_checkpoint_cannot_be_vouched_for(five_entries, checkpoint):
    checkpoint.unlink()
    result = verify_log()
    assert result.broken.seq is None
    assert result.broken.chinese.startswith("审计检查点")
    assert "缺失" in result.broken.chinese


def test_a_role_change_is_recorded_with_before_and_after(make_user, places):
    admin = make_user("admin", "admin", places.root)
    user = make_user("moved", "officer", places.outlet)
    change_post(user, role="risk", org_id=places.coop, acting=admin)
    row = AuditEntry.objects.get(action="user.change")
    assert row.username == "admin"
    assert row.target == "moved"
    assert row.detail["before"] == {"role": "officer", "org_id": places.outlet, "staff_id": ""}
    assert row.detail["after"] == {"role": "risk", "org_id": places.coop, "staff_id": ""}


def test_the_viewer_shows_only_rows_of_the_users_subtree(make_user, places, head_office):
    director = make_user("director", "director", places.coop)
    outsider = make_user("outsider", "risk", places.other_coop)
    note_login(outsider)
    note_login(director)
    page = logged_in(director).get("/audit/", {"action": "login"}).content.decode()
    assert "<td>director</td>" in page
    assert "<td>outsider</td>" not in page
    everything = logged_in(head_office).get("/audit/", {"action": "login"}).content.decode()
    assert "<td>director</td>" in everything
    assert "<td>outsider</td>" in everything


def test_officers_may_not_read_the_audit_log(officer):
    assert logged_in(officer).get("/audit/").status_code == 403
    assert logged_in(officer).get("/audit/export.xlsx").status_code == 403


def test_the_export_is_an_excel_file_of_the_filtered_rows(head_office, five_entries):
    answer = logged_in(head_office).get("/audit/export.xlsx", {"object": "T3"})
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content))["审计日志"]
    rows = list(sheet.values)
    assert rows[0][:5] == ("序号", "时间", "用户", "操作", "对象")
    # an action without a Chinese name shows its code; the raw detail is kept beside
    assert [(r[2], r[3], r[4], r[7], r[8], r[10]) for r in rows[1:]] == [
        ("someone", "test.step", "T3", "n：3", "test.step", '{"n": 3}')
    ]


def test_a_typed_formula_stays_text_in_the_export(head_office):
    from loanquality.accounts.actions import note_failed_login

    note_failed_login('=HYPERLINK("http://x")')
    answer = logged_in(head_office).get("/audit/export.xlsx", {"action": "login.failed"})
    cell = openpyxl.load_workbook(io.BytesIO(answer.content))["审计日志"]["C2"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x")', "s")


def test_a_filter_with_nul_finds_nothing_rather_than_failing(head_office):
    answer = logged_in(head_office).get("/audit/", {"user": "a\x00b", "object": "\x00"})
    assert answer.status_code == 200
    assert "<td>a" not in answer.content.decode()


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("9999-12-31", "日期应在 1900-01-01 至 2999-12-31 之间"),
        ("2024-13-01", "不是有效日期"),
        ("2024-02-30", "不是有效日期"),
        ("31/12/2024", "日期格式应为 YYYY-MM-DD"),
    ],
)
def test_an_impossible_or_far_date_on_the_audit_page_is_a_400_in_chinese(head_office, to, reason):
    """The day after 9999-12-31 does not exist: ``to=9999-12-31`` was a 500 (OverflowError)."""
    page = logged_in(head_office).get("/audit/", {"to": to})
    assert page.status_code == 400
    assert reason in page.content.decode()
    assert logged_in(head_office).get("/audit/export.xlsx", {"to": to}).status_code == 400
