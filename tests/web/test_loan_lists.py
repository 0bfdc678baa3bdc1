"""Loan lists a loan officer can work with (issue 16, items 6 and 2): Excel export, sorting,
filters, numbered pages, 我的贷款, search that counts and pages, loans gone from the ledger,
and every code with its Chinese name. Expectations are worked out from the lake's rows in
plain Python, independently of the DuckDB queries under test."""

from __future__ import annotations

import io

import openpyxl
import pytest

from conftest import PASSWORD, logged_in
from loanquality.accounts.actions import create_user, issue_token
from loanquality.common.scope import org_tree
from loanquality.engine.lake import Lake
from loanquality.portfolio.templatetags.figures import points
from loanquality.portfolio.templatetags.listing import page_numbers

PAGE_SIZE = 50


def _latest(data_dir) -> list[dict]:
    lake = Lake(data_dir)
    return lake.read("classified", lake.as_ofs("classified")[-1]).to_pylist()


def _live(data_dir) -> list[dict]:
    return [r for r in _latest(data_dir) if not r["written_off"] and not r["off_balance"]]


def _sheet(response) -> list[tuple]:
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


def _ids(page) -> list[str]:
    return [r["loan_id"] for r in page.context["result"].rows]


def test_the_npl_list_exports_every_loan_with_chinese_names(head_office, data_dir):
    # by hand: the NPL loans on the books are those of category 3, 4 or 5
    npl = [r for r in _live(data_dir) if r["final_category"] >= 3]
    rows = _sheet(logged_in(head_office).get("/loans/export.xlsx", {"kind": "npl"}))
    title, header, body = rows[0], rows[1], rows[2:]
    assert f"共 {len(npl)} 笔" in title[0]
    assert header[:4] == ("借据号", "客户号", "客户名称", "客户类型")
    assert len(body) == len(npl)  # every loan, not one page of 50
    assert {r[0] for r in body} == {r["loan_id"] for r in npl}
    balance = header.index("贷款余额(元)")
    assert sum(r[balance] for r in body) == pytest.approx(sum(r["balance"] for r in npl))
    # the codes come with their names: 农户 not farmer, 制造业 not C, an org's name beside it
    types = {r[3] for r in body}
    assert types <= {"企业", "小微企业", "个体工商户", "农户", "个人"}
    org_names = org_tree().names
    assert all(r[header.index("机构名称")] == org_names[r[4]] for r in body)
    reasons = header.index("分类依据")
    assert any("OD360 逾期超过360天" in (r[reasons] or "") for r in body)


def test_pages_are_numbered_and_each_number_opens_its_page(head_office, data_dir):
    live = _live(data_dir)
    pages = -(-len(live) // PAGE_SIZE)  # by hand: ceil(loans / 50)
    client = logged_in(head_office)
    first = client.get("/loans/", {"sort": "loan_id"})
    assert first.context["pages"] == pages
    html = first.content.decode()
    assert f"page={pages}" in html
    assert "page=2" in html
    assert ">下一页<" in html
    # page 3 sorted by loan id holds the 101st to the 150th loan id
    third = client.get("/loans/", {"sort": "loan_id", "page": 3})
    expected = sorted(r["loan_id"] for r in live)[100:150]
    assert _ids(third) == expected
    assert '<span class="page-link">3</span>' in third.content.decode()


def test_page_numbers_show_the_ends_and_the_neighbours():
    # by hand, page 7 of 30: 1 … 5 6 7 8 9 … 30; page 2 of 4: every page
    assert page_numbers(7, 30) == [1, None, 5, 6, 7, 8, 9, None, 30]
    assert page_numbers(2, 4) == [1, 2, 3, 4]
    assert page_numbers(1, 1) == [1]


def test_columns_sort_both_ways(head_office, data_dir):
    live = _live(data_dir)
    client = logged_in(head_office)
    # most overdue first, ties by loan id
    page = client.get("/loans/", {"sort": "-overdue"})
    by_hand = sorted(live, key=lambda r: (-r["overdue_days"], r["loan_id"]))
    assert _ids(page) == [r["loan_id"] for r in by_hand[:PAGE_SIZE]]
    # the earliest maturity first
    page = client.get("/loans/", {"sort": "maturity"})
    by_hand = sorted(live, key=lambda r: (r["maturity_date"], r["loan_id"]))
    assert _ids(page) == [r["loan_id"] for r in by_hand[:PAGE_SIZE]]
    # the header of the sorted column reverses it
    assert 'href="?sort=overdue"' in client.get("/loans/", {"sort": "-overdue"}).content.decode()


def test_each_filter_lists_exactly_the_loans_it_names(head_office, places, data_dir):
    live = _live(data_dir)
    subtree = set(org_tree().subtree(places.coop))
    sample = next(r for r in live if r["org_id"] in subtree and r["overdue_days"] > 0)
    cases = {
        "org": (places.coop, lambda r: r["org_id"] in subtree),
        "manager": (sample["manager_id"], lambda r: r["manager_id"] == sample["manager_id"]),
        "product": (sample["product"], lambda r: r["product"] == sample["product"]),
        "category": ("2", lambda r: r["final_category"] == 2),
        "overdue": ("1-30", lambda r: 1 <= r["overdue_days"] <= 30),
        "guarantee": ("保证", lambda r: r["guarantee_type"] == "保证"),
    }
    client = logged_in(head_office)
    for name, (value, wanted) in cases.items():
        result = client.get("/loans/", {name: value, "sort": "loan_id"}).context["result"]
        chosen = [r for r in live if wanted(r)]
        assert result.total == len(chosen), name
        assert result.total_balance == pytest.approx(sum(r["balance"] for r in chosen)), name
    # and they combine: guarantee 保证 among the co-op's loans 1-30 days overdue
    result = client.get(
        "/loans/", {"org": places.coop, "overdue": "1-30", "guarantee": "保证"}
    ).context["result"]
    assert result.total == len(
        [
            r
            for r in live
            if r["org_id"] in subtree
            and 1 <= r["overdue_days"] <= 30
            and r["guarantee_type"] == "保证"
        ]
    )


def test_a_filter_value_that_does_not_exist_is_400_in_chinese(head_office):
    client = logged_in(head_office)
    assert "五级分类应为" in client.get("/loans/", {"category": "9"}).content.decode()
    assert client.get("/loans/", {"category": "9"}).status_code == 400
    answer = client.get("/loans/", {"overdue": "forever"})
    assert answer.status_code == 400
    assert "未知的逾期区间" in answer.content.decode()


def test_my_loans_are_those_the_officer_manages_or_backs_up(places, data_dir):
    live = _live(data_dir)
    root = places.root
    staff_id = live[0]["manager_id"]
    officer = create_user("mine", password=PASSWORD, role="officer", org_id=root, staff_id=staff_id)
    mine = [r for r in live if staff_id in (r["manager_id"], r["manager_b_id"])]
    assert any(r["manager_b_id"] == staff_id for r in mine)  # the B角 loans are there too
    client = logged_in(officer)
    assert 'href="/loans/?mine=1">我的贷款<' in client.get("/").content.decode()
    page = client.get("/loans/", {"mine": "1"})
    assert page.context["result"].total == len(mine)
    assert "我的贷款" in page.context["title"]
    rows = _sheet(client.get("/loans/export.xlsx", {"mine": "1"}))
    assert {r[0] for r in rows[2:]} == {r["loan_id"] for r in mine}


def test_my_loans_without_a_staff_id_says_what_to_do(officer):
    client = logged_in(officer)
    assert "我的贷款" not in client.get("/").content.decode()
    page = client.get("/loans/", {"mine": "1"})
    assert page.context["result"].total == 0
    assert "没有登记员工号" in page.content.decode()


def test_search_counts_the_customers_and_pages_through_them(head_office, data_dir):
    # by hand: the customers in any close whose name contains 王
    lake = Lake(data_dir)
    customers = set()
    for as_of in lake.as_ofs("classified"):
        for r in lake.read("classified", as_of).to_pylist():
            if "王" in (r["customer_name"] or ""):
                customers.add(r["customer_id"])
    assert len(customers) > 20
    pages = -(-len(customers) // 20)
    client = logged_in(head_office)
    first = client.get("/search/", {"q": "王"})
    assert first.context["total"] == len(customers)
    assert f"共匹配 {len(customers)} 户客户" in first.content.decode()
    second = client.get("/search/", {"q": "王", "page": 2})
    shown = [c["customer_id"] for c in second.context["customers"]]
    assert shown == sorted(customers)[20:40]
    assert second.context["pages"] == pages
    rows = _sheet(client.get("/search/export.xlsx", {"q": "王"}))
    assert {r[1] for r in rows[2:]} == customers  # every matched customer, every page


def test_a_loan_gone_from_the_latest_ledger_shows_settled_and_when_it_was_last_seen(
    head_office, data_dir
):
    lake = Lake(data_dir)
    first, latest = lake.as_ofs("classified")
    still = {r["loan_id"] for r in lake.read("classified", latest).to_pylist()}
    gone = next(r for r in lake.read("classified", first).to_pylist() if r["loan_id"] not in still)
    client = logged_in(head_office)
    page = client.get(f"/loans/{gone['loan_id']}/").content.decode()
    assert f"已结清 · 最后出现 {first.isoformat()}" in page
    found = client.get("/search/", {"q": gone["loan_id"]}).content.decode()
    assert f"已结清 · 最后出现 {first.isoformat()}" in found
    current = next(iter(still))
    assert "已结清" not in client.get(f"/loans/{current}/").content.decode()


def test_codes_show_their_chinese_names_with_the_code_on_hover(head_office, data_dir):
    live = _live(data_dir)
    loan = next(r for r in live if r["industry"] == "A" and "OD360" in r["reasons"])
    client = logged_in(head_office)
    page = client.get(f"/loans/{loan['loan_id']}/").content.decode()
    assert "农、林、牧、渔业" in page
    assert ">A<" not in page
    assert f'title="{loan["org_id"]}">{org_tree().name(loan["org_id"])}<' in page
    assert '<abbr class="rule-code" title="逾期超过360天">OD360</abbr>' in page
    assert 'id="rule-legend"' in page
    listing = client.get("/loans/", {"kind": "npl"}).content.decode()
    assert ">farmer<" not in listing
    assert ">农户<" in listing


def test_api_loan_rows_carry_the_chinese_labels(client, head_office, data_dir):
    token = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(head_office)}"}
    answer = client.get("/api/v1/loans", {"kind": "npl", "sort": "-overdue"}, **token).json()
    row = answer["rows"][0]
    names = org_tree().names
    assert row["org_label"] == names[row["org_id"]]
    assert row["customer_type_label"] in {"企业", "小微企业", "个体工商户", "农户", "个人"}
    assert row["reasons_label"].startswith("OD360 逾期超过360天")
    most_overdue = max(r["overdue_days"] for r in _live(data_dir) if r["final_category"] >= 3)
    assert row["overdue_days"] == most_overdue
    detail = client.get(f"/api/v1/loans/{row['loan_id']}", **token).json()
    assert detail["industry_label"]
    assert detail["industry_label"] != detail["industry"]
    assert detail["history"][-1]["reasons_label"] == row["reasons_label"]  # the latest close


def test_a_change_is_rounded_before_it_is_signed():
    assert points(-0.00001) == "0.00个百分点"  # -0.001 pp rounds to 0.00: no sign
    assert points(-0.012345) == "-1.23个百分点"  # -0.012345 × 100 = -1.2345 → -1.23
    assert points(0.0123) == "+1.23个百分点"  # 0.0123 × 100 = 1.23
