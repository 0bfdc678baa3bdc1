"""Debian's Chromium (never a downloaded browser) driving the real server started by
``loanquality serve``: log in, the dashboard, drill down to a loan, a bad upload.
Screenshots go to tests/e2e/artifacts/."""

from __future__ import annotations

import time

import pytest

from browsing import ARTIFACTS, log_in, open_page
from loanquality.engine.lake import Lake

pytestmark = pytest.mark.e2e


def _latest(root, table: str) -> list[dict]:
    """The latest close's rows of ``table``, read from the lake when the test asserts."""
    lake = Lake(root / "data")
    return lake.read(table, lake.as_ofs(table)[-1]).to_pylist()


def test_log_in_dashboard_and_drill_down_to_a_loan(server, browser):
    base, root = server
    page = log_in(browser, base, "risk")
    page.wait_for_selector("#headline")
    page.wait_for_selector("#trend canvas")  # ECharts drew the trend
    # the dashboard shows the bank's NPL ratio of the latest close (risk sits at the root)
    (total,) = [r for r in _latest(root, "metrics") if r["group_by"] == "total"]
    assert page.inner_text("#npl-ratio") == f"{total['npl_ratio']:.2%}"
    assert page.locator("#trend canvas").count() >= 1
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)

    page.click("nav >> text=资产质量分析")
    page.wait_for_selector("#metrics")
    # the bank's own row first, then one row per co-op under the root
    orgs = _latest(root, "orgs")
    (bank,) = [o["org_id"] for o in orgs if o["parent_id"] is None]
    coops = [o["org_id"] for o in orgs if o["parent_id"] == bank]
    first_cells = page.locator("#metrics tbody tr td:first-child").all_inner_texts()
    assert first_cells[0].endswith("（合计）")
    assert len(first_cells) == 1 + len(coops)
    page.screenshot(path=ARTIFACTS / "analysis.png", full_page=True)
    coop_link = page.locator("#metrics tbody tr:nth-child(2) td:first-child a")
    coop = coop_link.get_attribute("href").rsplit("org=", 1)[1]
    assert coop in coops
    coop_link.click()  # the first co-op
    page.wait_for_selector("#officers")
    page.click("#metrics tbody tr:nth-child(1) td:nth-child(4) a")  # its NPL balance
    page.wait_for_selector("#loan-total")
    assert "不良贷款" in page.inner_text("h1")
    # the list holds the co-op's NPL loans on the books, as many as the lake has
    subtree, grew = {coop}, True
    while grew:
        below = {o["org_id"] for o in orgs if o["parent_id"] in subtree}
        grew = not below <= subtree
        subtree |= below
    npl = [
        r
        for r in _latest(root, "classified")
        if r["org_id"] in subtree
        and r["final_category"] >= 3
        and not r["written_off"]
        and not r["off_balance"]
    ]
    assert page.inner_text("#loan-total").startswith(f"共 {len(npl)} 笔，")
    page.screenshot(path=ARTIFACTS / "loans.png", full_page=True)
    loan_id = page.inner_text("table tbody tr:first-child td:first-child a")
    assert loan_id in {r["loan_id"] for r in npl}
    page.click("table tbody tr:first-child td:first-child a")
    page.wait_for_selector("#history")
    assert loan_id in page.inner_text("h1")
    # one history row per close of the loan
    closes = len(Lake(root / "data").as_ofs("classified"))
    assert page.locator("#history tbody tr").count() == closes
    page.screenshot(path=ARTIFACTS / "loan.png", full_page=True)

    page.click("nav >> text=贷款查询")
    page.fill("input[name=q]", loan_id)
    page.click("button:has-text('检索')")
    page.wait_for_selector(".customer")
    # the search finds the loan's own customer, and only that one
    (customer,) = [r["customer_id"] for r in npl if r["loan_id"] == loan_id]
    headers = page.locator(".customer .card-header").all_inner_texts()
    assert len(headers) == 1
    assert f" {customer} · " in headers[0]
    page.screenshot(path=ARTIFACTS / "search.png", full_page=True)


def test_pages_work_under_the_content_security_policy(server, browser):
    """Scripts run only from /static: the charts draw (and their tooltips write inline
    styles), the report-date picker submits, the API's docs render, and Chromium reports
    nothing refused."""
    base, _ = server
    # given a browser that records every Content-Security-Policy refusal it logs
    page = open_page(browser)
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)
    # when the dashboard is opened, a chart hovered and the other report date picked
    log_in(browser, base, "risk", page)
    for chart in ("#trend", "#structure", "#migration"):
        page.wait_for_selector(f"{chart} canvas")
    page.hover("#trend canvas")
    earlier = page.eval_on_selector("select[name=as_of]", "s => s.options[s.length - 1].value")
    page.select_option("select[name=as_of]", earlier)
    page.wait_for_url(f"**as_of={earlier}**")
    page.wait_for_selector("#trend canvas")
    # and the other pages and the API's docs are visited
    for path in ("/analysis/", "/loans/?kind=npl", "/search/?q=C", "/operations/close/"):
        page.goto(base + path)
    page.goto(base + "/api/v1/docs")
    page.wait_for_selector("#swagger-ui .info")
    # the docs rendered the API's own schema: its title and every operation
    assert page.inner_text("#swagger-ui .info .title").startswith("loanquality API")
    assert page.locator("#swagger-ui .opblock").count() >= 10
    page.screenshot(path=ARTIFACTS / "api-docs.png", full_page=True)
    # then nothing was refused
    assert refused == []


def test_a_bad_upload_shows_its_chinese_error(server, browser):
    base, root = server
    bad = root / "坏台账.csv"
    bad.write_text(
        "借据号,客户号,客户类型,机构号,贷款余额,发放日,到期日\n"
        "X1,C1,农户,L0101,12a,2024-01-01,2025-01-01\n",
        encoding="utf-8",
    )
    page = log_in(browser, base, "risk")
    page.click("nav >> text=数据导入")
    page.fill("#as_of", "2030-01-31")
    page.set_input_files("#file-loans", str(bad))
    page.click("button:has-text('校验并发布')")
    report = page.wait_for_selector("#validation-report")
    assert "坏台账.csv 第2行 列「贷款余额」 值'12a'：不是有效数字" in report.inner_text()
    page.screenshot(path=ARTIFACTS / "import.png", full_page=True)


def test_the_close_page_runs_a_close_and_shows_its_progress(server, browser):
    base, root = server
    page = log_in(browser, base, "risk")
    page.click("nav >> text=月末结账")
    page.click("button:has-text('开始结账')")
    page.wait_for_selector("#close-runs tr:first-child .status:has-text('已完成')", timeout=60_000)
    # the finished run: the latest imported date, at 100 %
    latest = Lake(root / "data").as_ofs("loans")[-1]
    row = page.locator("#close-runs tr:first-child")
    assert row.locator("td:nth-child(2)").inner_text() == latest.isoformat()
    assert row.locator(".progress-bar").inner_text() == "100%"
    page.screenshot(path=ARTIFACTS / "close.png", full_page=True)


def test_an_officer_sees_no_operations_and_only_their_outlet(server, browser):
    base, _ = server
    page = log_in(browser, base, "officer")
    page.wait_for_selector("#headline")
    assert "数据导入" not in page.inner_text("nav")
    answer = page.goto(base + "/analysis/?org=L0200")
    assert answer.status == 404


def test_a_proposal_made_in_one_session_is_approved_in_another(server, browser):
    base, root = server
    lake = Lake(root / "data")
    loan_id = next(
        r["loan_id"]
        for r in lake.read("classified", lake.as_ofs("classified")[-1]).to_pylist()
        if r["final_category"] == 1 and r["balance"] > 0 and not r["written_off"]
    )
    evidence = root / "停产情况说明.txt"
    evidence.write_text("该户已于上月停产。", encoding="utf-8")

    maker = log_in(browser, base, "analyst")
    maker.goto(f"{base}/loans/{loan_id}/")
    maker.click("text=发起认定")
    maker.select_option("#category", "3")
    maker.fill("#reason", "借款人主营停产，第一还款来源不足")
    maker.set_input_files("#evidence", str(evidence))
    maker.click("button:has-text('提交审批')")
    assert maker.inner_text("#override-status") == "待审批"
    assert "停产情况说明.txt" in maker.inner_text("#override-facts")
    maker.screenshot(path=ARTIFACTS / "override-proposed.png", full_page=True)

    checker = log_in(browser, base, "risk")
    checker.click("nav >> text=认定")
    assert loan_id in checker.inner_text("#override-queue")  # 待我审批
    checker.click("#override-queue tbody tr:first-child td:first-child a")
    checker.fill("#comment", "同意下调")
    checker.click("button:has-text('审批通过')")
    assert checker.inner_text("#override-status") == "已通过"
    checker.screenshot(path=ARTIFACTS / "override-approved.png", full_page=True)

    # the server closes the date again in the background; the loan page then shows 次级 (MAN)
    for _ in range(120):
        maker.goto(f"{base}/loans/{loan_id}/")
        if "MAN" in maker.inner_text("#history tbody tr:first-child"):
            break
        time.sleep(0.5)
    assert "MAN" in maker.inner_text("#history tbody tr:first-child"), "not re-closed in 60 s"
    assert "次级" in maker.inner_text("h1")
    assert "已通过" in maker.inner_text("#override-history")
    maker.screenshot(path=ARTIFACTS / "override-effect.png", full_page=True)
