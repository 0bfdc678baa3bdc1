"""The import and close history pages list every run, whoever started it: the shared bank
was imported and closed by the engine directly (user "tests", as the CLI and the demo
do), never through the web, and its two months must show."""

from __future__ import annotations

import re

import pytest

from conftest import logged_in
from loanquality.engine.lake import Lake
from loanquality.operations.models import CloseRun, ImportRun, Status


@pytest.fixture(autouse=True)
def checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("LOANQUALITY_AUDIT_CHECKPOINT", str(tmp_path / "audit_checkpoint.jsonl"))


def history_rows(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
        if "<td" in row
    ]


def test_imports_run_outside_the_web_are_listed_newest_first(head_office, data_dir):
    page = logged_in(head_office).get("/operations/import/").content.decode()
    rows = history_rows(page, "import-history")
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("2024-02-29", "tests", "已完成"),
        ("2024-01-31", "tests", "已完成"),
    ]
    assert "借据台账：loans.csv" in rows[0][4]


def test_closes_run_outside_the_web_are_listed_with_their_loans(head_office, data_dir):
    closes = Lake(data_dir).close_log()
    page = logged_in(head_office).get("/operations/close/").content.decode()
    rows = history_rows(page, "close-runs")
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("2024-02-29", "tests", "已完成"),
        ("2024-01-31", "tests", "已完成"),
    ]
    loans = closes[-1]["rows"]["classified"]
    assert rows[0][4].startswith(f"{loans} 笔借据")


def test_a_rejected_web_import_and_a_failed_close_are_listed_beside_them(head_office, data_dir):
    """What never reached the lake comes from the web's own rows; a web run that did reach
    it is listed once, from the lake's log."""
    ImportRun.objects.create(
        as_of="2024-03-31",
        user=head_office,
        status=Status.REJECTED,
        files={"loans": "坏台账.csv"},
        problem_total=3,
    )
    ImportRun.objects.create(as_of="2024-02-29", user=head_office, status=Status.DONE)
    CloseRun.objects.create(
        as_of="2024-02-29", user=head_office, status=Status.FAILED, error="磁盘已满"
    )
    client = logged_in(head_office)
    imports = history_rows(client.get("/operations/import/").content.decode(), "import-history")
    assert [(r[1], r[2], r[3]) for r in imports] == [
        ("2024-03-31", "credit", "校验未通过（3处问题）"),
        ("2024-02-29", "tests", "已完成"),
        ("2024-01-31", "tests", "已完成"),
    ]
    closes = history_rows(client.get("/operations/close/").content.decode(), "close-runs")
    assert tuple(closes[0][1:4]) == ("2024-02-29", "credit", "失败")
    assert closes[0][-1] == "磁盘已满"
    assert len(closes) == 3
