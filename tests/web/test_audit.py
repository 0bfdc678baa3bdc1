"""The audit log: a hash chain that `verify` checks, the viewer scoped to the user's orgs,
and its Excel export."""

from __future__ import annotations

import io
import itertools
from types import SimpleNamespace

import openpyxl
import pytest
from django.db import connection

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
            cursor.execute("DROP TRIGGER audit_no_update")
            cursor.execute("DROP TRIGGER audit_no_delete")
        cursor.execute(sql, params)


@pytest.fixture
def five_entries(db):
    for n in range(5):
        record("test.step", username="someone", target=f"T{n}", n=n)


def test_each_row_links_to_the_one_before(five_entries):
    rows = list(AuditEntry.objects.order_by("seq"))
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    first = rows[0]
    assert first.hash == entry_hash(
        SimpleNamespace(
            prev_hash=GENESIS,
            seq=1,
            at=first.at,
            user_id=None,
            username="someone",
            action="test.step",
            target="T0",
            org_id="",
            detail={"n": 0},
        )
    )
    result = verify_log()
    assert (result.entries, result.head_hash, result.broken) == (5, rows[-1].hash, None)


def test_verify_names_an_edited_row(five_entries):
    tamper("UPDATE audit_auditentry SET target = %s WHERE seq = 3", ["edited"])
    broken = verify_log().broken
    assert broken.seq == 3
    assert "哈希不符" in broken.chinese
    assert "changed" in broken.english


def test_verify_names_a_deleted_row(five_entries):
    tamper("DELETE FROM audit_auditentry WHERE seq = 2", [])
    broken = verify_log().broken
    assert broken.seq == 2
    assert broken.chinese.startswith("第 2 条审计记录缺失")


def test_verify_names_a_row_rewritten_with_a_fresh_hash(five_entries):
    """Recomputing the edited row's own hash does not help: the next row's link breaks."""
    row = AuditEntry.objects.get(seq=3)
    forged = entry_hash(
        SimpleNamespace(
            prev_hash=row.prev_hash,
            seq=3,
            at=row.at,
            user_id=None,
            username="someone",
            action="test.step",
            target="forged",
            org_id="",
            detail={"n": 2},
        )
    )
    tamper("UPDATE audit_auditentry SET target = 'forged', hash = %s WHERE seq = 3", [forged])
    broken = verify_log().broken
    assert broken.seq == 4
    assert "#3 was rewritten" in broken.english


def test_a_role_change_is_recorded_with_before_and_after(make_user, places, head_office):
    user = make_user("moved", "officer", places.outlet)
    change_post(user, role="risk", org_id=places.coop, acting=head_office)
    row = AuditEntry.objects.get(action="user.change")
    assert row.username == "credit"
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
    assert [(r[2], r[3], r[4], r[6]) for r in rows[1:]] == [
        ("someone", "test.step", "T3", '{"n": 3}')
    ]


def test_a_typed_formula_stays_text_in_the_export(head_office):
    from loanquality.accounts.actions import note_failed_login

    note_failed_login('=HYPERLINK("http://x")')
    answer = logged_in(head_office).get("/audit/export.xlsx", {"action": "login.failed"})
    cell = openpyxl.load_workbook(io.BytesIO(answer.content))["审计日志"]["C2"]
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://x")', "s")


def test_a_bad_date_filter_is_a_clear_400(head_office):
    answer = logged_in(head_office).get("/audit/", {"from": "2024-13-01"})
    assert answer.status_code == 400
    assert "日期格式应为 YYYY-MM-DD" in answer.content.decode()


def test_a_filter_with_nul_finds_nothing_rather_than_failing(head_office):
    answer = logged_in(head_office).get("/audit/", {"user": "a\x00b", "object": "\x00"})
    assert answer.status_code == 200
    assert "<td>a" not in answer.content.decode()
