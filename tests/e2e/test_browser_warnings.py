"""Early warning in Debian's Chromium against the served bank (issue 17, "Must show"): a
risk manager assigns a case, the officer finds it in 我的待办, records a measure and
resolves it; a director sees an overdue case escalate into their inbox; the case's
《风险预警信号处理表》 downloads as a PDF whose text holds the loan id and the evidence.

The signals are the test's own, published as the latest close's (``tests/web/signal_lake.py``); the
server syncs them into cases at its next list or inbox read, as after any close."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess

import pytest

from browsing import ARTIFACTS, log_in
from loanquality.engine.lake import Lake
from web.signal_lake import latest, publish_signals, signal

pytestmark = pytest.mark.e2e

OFFICER_ORG = "L0101"  # the officer's outlet, under the director's L0100 (conftest.USERS)
MEASURE = "电话联系借款人并上门核实，借款人因货款回笼延迟逾期"
RESULT = "借款人已于次日归还逾期本息"
OVERDUE_EVIDENCE = "贷款本期首次逾期，逾期天数9天（上期为0天）"
LTV_EVIDENCE = "抵押率0.86，超过抵押贷款0.70的上限"


@pytest.fixture(scope="module")
def cases(server):
    """Two live loans of the officer's outlet, one with an OVD_FIRST signal, one with
    LTV_HIGH, published as the latest close's signals."""
    _, root = server
    data = root / "data"
    rows = Lake(data).read("classified", latest(data)).to_pylist()
    first, second = sorted(
        (
            r
            for r in rows
            if r["org_id"] == OFFICER_ORG and r["balance"] > 0 and not r["written_off"]
        ),
        key=lambda r: r["loan_id"],
    )[:2]
    publish_signals(
        data,
        latest(data),
        [
            signal("LTV_HIGH", second, 3, 0.86, 0.70, evidence=LTV_EVIDENCE),
            signal("OVD_FIRST", first, 2, 9.0, 0.0, evidence=OVERDUE_EVIDENCE),
        ],
    )
    return {"overdue": first, "ltv": second}


def _open_case(page, base: str, code: str, loan_id: str) -> None:
    page.goto(f"{base}/warnings/?code={code}&org={OFFICER_ORG}")
    page.wait_for_selector("#warning-list")
    page.click(f"#warning-list tr:has-text('{loan_id}') td:first-child a")
    page.wait_for_selector("#case-facts")


def test_an_officer_records_a_measure_and_resolves_a_case_from_the_inbox(server, browser, cases):
    base, _ = server
    loan_id = cases["overdue"]["loan_id"]
    # given the 风险经理 assigns the OVD_FIRST case to the officer
    analyst = log_in(browser, base, "analyst")
    _open_case(analyst, base, "OVD_FIRST", loan_id)
    assert analyst.inner_text("#case-evidence") == OVERDUE_EVIDENCE
    officer_option = analyst.eval_on_selector(
        "#assignee",
        "s => [...s.options].find(o => o.textContent.startsWith('officer ')).value",
    )
    analyst.select_option("#assignee", officer_option)
    analyst.click("#form-assign button")
    analyst.wait_for_selector("#case-message")
    assert analyst.inner_text("#case-assignee") == "officer"
    assert analyst.inner_text("#case-state") == "已分派"
    analyst.close()

    # when the officer opens 我的待办: the navigation counts it, the inbox lists it
    page = log_in(browser, base, "officer")
    page.wait_for_selector("#inbox-count")
    page.click("#nav-inbox")
    page.wait_for_selector("#inbox")
    task = page.locator("[data-task='warnings.mine']")
    assert task.locator(".task-count").inner_text() == "1"
    page.screenshot(path=ARTIFACTS / "inbox.png", full_page=True)
    task.click()
    page.wait_for_selector("#warning-list")
    assert page.locator("#warning-list tbody tr").count() == 1
    page.click("#warning-list tbody tr td:first-child a")
    page.wait_for_selector("#case-facts")
    assert loan_id in page.inner_text("#case-facts")
    # it starts it, records a measure with its result, and resolves it
    page.click("#form-start button")
    page.wait_for_selector("#form-measure")
    assert page.inner_text("#case-state") == "处理中"
    page.fill("#measure-measure", MEASURE)
    page.fill("#measure-result", RESULT)
    page.click("#form-measure button")
    page.wait_for_selector("#case-message")
    assert MEASURE in page.inner_text("#case-measures")
    assert RESULT in page.inner_text("#case-measures")
    page.click("#form-resolve button")
    page.wait_for_selector("#case-message")
    # then the case is 已化解, with no more forms for the officer, and off their inbox
    assert page.inner_text("#case-state") == "已化解"
    assert page.locator("#case-forms form").count() == 0
    page.screenshot(path=ARTIFACTS / "warning-case.png", full_page=True)
    page.click("#nav-inbox")
    page.wait_for_selector("#inbox")
    assert page.locator("[data-task='warnings.mine']").count() == 0
    page.close()


def test_a_director_sees_an_overdue_case_escalate_into_the_inbox(server, browser, cases):
    base, root = server
    loan_id = cases["ltv"]["loan_id"]
    # given the LTV_HIGH case (synced by a read) made overdue: due yesterday
    director = log_in(browser, base, "director")
    _open_case(director, base, "LTV_HIGH", loan_id)
    assert "case-overdue" not in director.content()
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    with sqlite3.connect(root / "data" / "loanquality.sqlite3") as db:
        changed = db.execute(
            "UPDATE warnings_case SET due_on = ? WHERE code = 'LTV_HIGH' AND subject = ?",
            (yesterday, loan_id),
        ).rowcount
    assert changed == 1
    # when the director opens 我的待办
    director.click("#nav-inbox")
    director.wait_for_selector("#inbox")
    # then the case escalated: 逾期升级预警 counts it, and the list marks it 已升级
    task = director.locator("[data-task='warnings.escalated']")
    assert int(task.locator(".task-count").inner_text()) >= 1
    director.screenshot(path=ARTIFACTS / "inbox-escalated.png", full_page=True)
    task.click()
    director.wait_for_selector("#warning-list")
    row = director.locator(f"#warning-list tr:has-text('{loan_id}')")
    assert "已升级" in row.inner_text()
    row.locator("td:first-child a").click()
    director.wait_for_selector("#case-overdue")
    assert "已升级至机构负责人" in director.inner_text("#case-overdue")
    # and the 驾驶舱 counts it among the overdue 高 cases of the director's orgs
    director.click("nav >> text=首页驾驶舱")
    director.wait_for_selector("#warning-board")
    total = director.locator("#warning-board tbody tr").first
    assert int(total.locator(".warning-overdue[data-severity='3']").inner_text()) >= 1
    director.close()


def test_the_case_form_pdf_downloads_with_the_loan_and_its_evidence(server, browser, cases):
    base, root = server
    loan_id = cases["ltv"]["loan_id"]
    page = log_in(browser, base, "analyst")
    _open_case(page, base, "LTV_HIGH", loan_id)
    # when the 处理表 PDF is downloaded from the case page
    with page.expect_download() as download:
        page.click("#print-form-pdf")
    saved = root / "form.pdf"
    download.value.save_as(saved)
    assert download.value.suggested_filename.startswith("风险预警信号处理表-")
    # then pdftotext finds the title, the loan id and the Chinese evidence
    text = subprocess.run(
        ["pdftotext", "-layout", str(saved), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = "".join(text.split())
    assert "风险预警信号处理表" in flat
    assert loan_id in flat
    assert "".join(LTV_EVIDENCE.split()) in flat
    assert "主管行长" in flat
    page.close()
