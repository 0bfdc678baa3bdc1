"""The 驾驶舱 and 资产质量分析 in Chromium (issue 16, items 1 and 9): units past a red line
are listed before those just under one, the trend marks the chosen report date, and every
page has a favicon."""

from __future__ import annotations

import pytest

from browsing import ARTIFACTS, log_in
from loanquality.engine.lake import Lake

pytestmark = pytest.mark.e2e


def _latest_org_rows(root) -> tuple[list[dict], dict[str, str]]:
    lake = Lake(root / "data")
    as_of = lake.as_ofs("metrics")[-1]
    rows = [r for r in lake.read("metrics", as_of).to_pylist() if r["group_by"] == "org"]
    orgs = lake.read("orgs", lake.as_ofs("orgs")[-1]).to_pylist()
    return rows, {o["org_id"]: o["org_name"] for o in orgs}


def test_the_dashboard_lists_units_past_a_red_line_first(server, browser):
    base, root = server
    rows, names = _latest_org_rows(root)
    passed = [r for r in rows if r["npl_ratio_above_redline"]]
    assert passed, "the served bank should have a unit past a red line"
    highest = max(r["npl_ratio_above_redline"] for r in passed)
    page = log_in(browser, base, "risk")  # 信贷管理部 of the whole bank
    page.wait_for_selector("#flags .flagged-orgs")
    lines = page.locator("#flags .flagged-orgs").all_inner_texts()
    # the highest line passed comes first and names every unit past it
    assert lines[0].startswith(f"不良率达到或超过{highest * 100:g}%红线的机构：")
    for r in passed:
        if r["npl_ratio_above_redline"] == highest:
            assert names[r["key"]] in lines[0]
    # and every line passed is said before the units just under a line
    said = [i for i, line in enumerate(lines) if line.startswith("不良率达到或超过")]
    assert len(said) == len({r["npl_ratio_above_redline"] for r in passed})
    near = [i for i, line in enumerate(lines) if line.startswith("不良率贴近红线")]
    assert not near or max(said) < near[0]
    page.screenshot(path=ARTIFACTS / "dashboard-red-lines.png", full_page=True)


def test_the_analysis_page_shows_the_line_passed_before_the_near_flag(server, browser):
    base, root = server
    rows, names = _latest_org_rows(root)
    page = log_in(browser, base, "risk")
    page.click("nav >> text=资产质量分析")
    page.wait_for_selector("#metrics")
    headers = page.locator("#metrics thead th").all_inner_texts()
    above = headers.index("不良率已超红线")
    assert headers[above + 1] == "不良率贴近红线"
    shown = {
        cells[0].removesuffix("（合计）"): cells[above : above + 2]
        for cells in (
            row.locator("td").all_inner_texts() for row in page.locator("#metrics tbody tr").all()
        )
    }
    expected = {
        names[r["key"]]: [
            f"{r['npl_ratio_above_redline']:.2%}" if r["npl_ratio_above_redline"] else "—",
            "是" if r["npl_ratio_near_redline"] else "否",
        ]
        for r in rows
        if names[r["key"]] in shown
    }
    assert len(expected) == len(shown) > 1  # the bank and its units, each found in the lake
    assert shown == expected
    assert any(cells[0] != "—" for cells in shown.values())


def test_the_trend_marks_the_chosen_report_date(server, browser):
    base, _ = server
    page = log_in(browser, base, "risk")
    page.wait_for_selector("#trend canvas")
    earlier = page.eval_on_selector("select[name=as_of]", "s => s.options[s.length - 1].value")
    page.select_option("select[name=as_of]", earlier)
    page.wait_for_url(f"**as_of={earlier}**")
    page.wait_for_selector("#trend canvas")
    option = page.evaluate(
        """() => {
            const o = echarts.getInstanceByDom(document.getElementById("trend")).getOption();
            return {dates: o.xAxis[0].data, line: o.series[0].markLine.data,
                    point: o.series[1].markPoint.data};
        }"""
    )
    assert option["dates"][0] == earlier
    assert option["dates"][-1] != earlier  # a later close is shown too
    assert option["line"][0]["xAxis"] == earlier
    assert option["point"][0]["coord"][0] == earlier
    page.screenshot(path=ARTIFACTS / "dashboard-trend-as-of.png", full_page=True)


def test_every_page_has_a_favicon(server, browser):
    base, _ = server
    page = log_in(browser, base, "risk")
    for path in ("/", "/analysis/", "/search/"):
        page.goto(base + path)
        href = page.eval_on_selector("link[rel=icon]", "link => link.href")
        answer = page.request.get(href)
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("image/svg+xml")
