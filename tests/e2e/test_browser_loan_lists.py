"""Loan lists in Chromium (issue 16, items 6 and 2): numbered pages, sorting, filters, the
Excel export, 我的贷款 of an officer with a staff id, a search that counts and pages, a loan
gone from the ledger, and codes shown by their Chinese names with the code on hover."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import openpyxl
import pytest

from browsing import ARTIFACTS, PASSWORD, log_in, open_page
from loanquality.engine.lake import Lake

pytestmark = pytest.mark.e2e


def _latest_loans(root) -> list[dict]:
    lake = Lake(root / "data")
    return lake.read("classified", lake.as_ofs("classified")[-1]).to_pylist()


def _live(root) -> list[dict]:
    return [r for r in _latest_loans(root) if not r["written_off"] and not r["off_balance"]]


def _total(page) -> int:
    return int(re.search(r"共 (\d+) 笔", page.inner_text("#loan-total")).group(1))


def _column(page, number: int) -> list[str]:
    return page.eval_on_selector_all(
        f".loan-rows tbody tr td:nth-child({number})", "cells => cells.map(c => c.innerText)"
    )


def _add_officer(root, username: str, staff_id: str) -> None:
    """An officer of L0101 whose account names their staff id, as an administrator adds one."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env |= {"SECRET_KEY": "e2e-only", "LOANQUALITY_AUDIT_KEY_FILE": str(root / "audit.key")}
    subprocess.run(
        [sys.executable, "-m", "loanquality.cli", "user", "add", username,
         "--data-dir", str(root / "data"), "--password", PASSWORD, "--role", "officer",
         "--org", "L0101", "--staff-id", staff_id],
        env=env, check=True, capture_output=True,
    )  # fmt: skip


def test_a_loan_list_pages_sorts_filters_and_exports(server, browser):
    base, root = server
    page = open_page(browser)
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)
    log_in(browser, base, "risk", page)
    page.goto(base + "/loans/")
    live = _live(root)
    assert _total(page) == len(live)
    # page numbers, not only previous/next: the third page is one click away
    page.click("#pages a.page-link:text-is('3')")
    page.wait_for_url("**page=3**")
    assert page.inner_text("#pages .active") == "3"
    # a click on 逾期天数 sorts the most overdue first, a second click the least
    page.click(".loan-rows thead a[data-sort=overdue]")
    page.wait_for_url("**sort=-overdue**")
    days = [int(d) for d in _column(page, 10)]
    assert days == sorted(days, reverse=True)
    assert days[0] == max(r["overdue_days"] for r in live)
    page.click(".loan-rows thead a[data-sort=overdue]")
    page.wait_for_url("**sort=overdue**")
    days = [int(d) for d in _column(page, 10)]
    assert days == sorted(days)
    # the filters: 担保方式 保证 and 五级分类 关注 together
    page.select_option("#f-guarantee", "保证")
    page.select_option("#f-category", "2")
    page.click("#loan-filters button[type=submit]")
    page.wait_for_url("**guarantee=**")
    chosen = [r for r in live if r["guarantee_type"] == "保证" and r["final_category"] == 2]
    assert _total(page) == len(chosen)
    assert set(_column(page, 7)) <= {"保证"}
    # the NPL list exports every one of its loans, not the page shown
    page.goto(base + "/loans/?kind=npl")
    npl = [r for r in live if r["final_category"] >= 3]
    assert _total(page) == len(npl)
    with page.expect_download() as download:
        page.click("#loan-export")
    book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[1][0] == "借据号"
    assert {r[0] for r in rows[2:]} == {r["loan_id"] for r in npl}
    page.screenshot(path=ARTIFACTS / "loan-list.png", full_page=True)
    assert refused == []


def test_codes_show_chinese_names_with_the_code_on_hover(server, browser):
    base, root = server
    page = log_in(browser, base, "risk")
    page.goto(base + "/loans/?kind=npl")
    table = page.inner_text(".loan-rows")
    for code in ("farmer", "individual", "corporate", "sole_proprietor", "micro"):
        assert code not in table
    org_cell = page.query_selector(".loan-rows tbody tr:first-child td:nth-child(4)")
    assert re.fullmatch(r"L\d{4}", org_cell.get_attribute("title"))
    assert not re.search(r"L\d{4}", org_cell.inner_text())
    code = page.query_selector(".loan-rows tbody abbr.rule-code")
    assert code.get_attribute("title")  # the rule's Chinese name as its tooltip
    page.click("#rule-legend summary")
    assert "逾期超过90天" in page.inner_text("#rule-legend")
    # the loan page names the industry by its GB/T 4754 section, not its letter
    farm = next(r for r in _live(root) if r["industry"] == "A")
    page.goto(f"{base}/loans/{farm['loan_id']}/")
    assert "农、林、牧、渔业" in page.inner_text("#loan-facts")


def test_an_officer_finds_their_own_loans_in_the_navigation(server, browser):
    base, root = server
    live = _live(root)
    staff_id = next(r["manager_id"] for r in live if r["org_id"] == "L0101" and r["manager_id"])
    _add_officer(root, "own_loans", staff_id)
    # theirs as 管户 or B角, within what their org (L0101, an outlet) may see
    mine = [
        r
        for r in live
        if r["org_id"] == "L0101" and staff_id in (r["manager_id"], r["manager_b_id"])
    ]
    page = log_in(browser, base, "own_loans")
    page.click("nav >> text=我的贷款")
    page.wait_for_selector("#loan-total")
    assert "我的贷款" in page.inner_text("h1")
    assert _total(page) == len(mine)
    # an officer without a staff id has no such entry
    other = log_in(browser, base, "officer")
    assert "我的贷款" not in other.inner_text("nav")


def test_search_counts_customers_pages_and_marks_settled_loans(server, browser):
    base, root = server
    lake = Lake(root / "data")
    dates = lake.as_ofs("classified")
    seen = {d: lake.read("classified", d).to_pylist() for d in dates}
    customers = {r["customer_id"] for d in dates for r in seen[d] if "王" in r["customer_name"]}
    page = log_in(browser, base, "risk")
    page.click("nav >> text=贷款查询")
    page.fill("form[role=search] input[name=q]", "王")
    page.click("button:has-text('检索')")
    assert f"共匹配 {len(customers)} 户客户" in page.inner_text("#search-total")
    assert len(page.query_selector_all(".customer")) == min(20, len(customers))
    page.click("#pages a.page-link:text-is('2')")
    page.wait_for_url("**page=2**")
    assert len(page.query_selector_all(".customer")) == min(20, len(customers) - 20)
    # a loan of the first ledger that the latest no longer has
    still = {r["loan_id"] for r in seen[dates[-1]]}
    gone = next(r for r in seen[dates[0]] if r["loan_id"] not in still)
    page.fill("form[role=search] input[name=q]", gone["loan_id"])
    page.click("button:has-text('检索')")
    assert f"已结清 · 最后出现 {dates[0].isoformat()}" in page.inner_text(".customer")
    page.click(f".customer a:text-is('{gone['loan_id']}')")
    assert f"已结清 · 最后出现 {dates[0].isoformat()}" in page.inner_text("h1")
    page.screenshot(path=ARTIFACTS / "loan-settled.png", full_page=True)
