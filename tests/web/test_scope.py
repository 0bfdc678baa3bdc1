"""Every page and API answer is limited to the user's org subtree; outside it is a 404."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import PASSWORD, loan_in, logged_in
from loanquality.common.scope import org_tree
from loanquality.engine.lake import Lake


def latest(data_dir) -> str:
    return Lake(data_dir).as_ofs("classified")[-1].isoformat()


def api_client(client, user):
    answer = client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    return {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['token']}"}


def test_loan_detail_page_outside_the_subtree_is_404(officer, places, data_dir):
    # given an officer of one outlet
    outlet_orgs = org_tree().subtree(places.outlet)
    mine, theirs = loan_in(data_dir, outlet_orgs), loan_in(data_dir, outlet_orgs, inside=False)
    client = logged_in(officer)
    # then their own outlet's loan opens and any other loan does not exist for them
    assert client.get(f"/loans/{mine['loan_id']}/").status_code == 200
    assert client.get(f"/loans/{theirs['loan_id']}/").status_code == 404


def test_loan_list_and_analysis_refuse_an_org_outside_the_subtree(officer, places, data_dir):
    client = logged_in(officer)
    assert client.get(f"/loans/?org={places.outlet}").status_code == 200
    for page in ("/loans/", "/analysis/"):
        assert client.get(f"{page}?org={places.other_coop}").status_code == 404
        assert client.get(f"{page}?org={places.root}").status_code == 404


def test_loan_list_shows_only_loans_of_the_subtree(officer, places, data_dir):
    client = logged_in(officer)
    page = client.get("/loans/?kind=all")
    outlet_orgs = set(org_tree().subtree(places.outlet))
    theirs = loan_in(data_dir, list(outlet_orgs), inside=False)
    assert page.status_code == 200
    assert theirs["loan_id"] not in page.content.decode()
    assert page.context["result"].total > 0
    assert {r["org_id"] for r in page.context["result"].rows} <= outlet_orgs


def test_search_finds_nothing_outside_the_subtree(officer, head_office, places, data_dir):
    outlet_orgs = org_tree().subtree(places.outlet)
    theirs = loan_in(data_dir, outlet_orgs, inside=False)
    # the head office finds the customer, the outlet's officer does not
    found = logged_in(head_office).get("/search/", {"q": theirs["customer_id"]})
    assert [c["customer_id"] for c in found.context["customers"]] == [theirs["customer_id"]]
    hidden = logged_in(officer).get("/search/", {"q": theirs["customer_id"]})
    assert hidden.context["customers"] == []


def test_dashboard_shows_the_users_own_org_not_the_bank(officer, head_office, places):
    mine = logged_in(officer).get("/").context["board"]["row"]
    bank = logged_in(head_office).get("/").context["board"]["row"]
    assert (mine["group_by"], mine["key"]) == ("org", places.outlet)
    assert (bank["group_by"], bank["key"]) == ("total", "total")
    officers = logged_in(officer).get("/").context["board"]["officers"]
    outlet_orgs = set(org_tree().subtree(places.outlet))
    for row in officers["best"] + officers["worst"]:
        assert row["group_by"] == "manager"
    # and the org ranking is of units inside the scope only
    assert all(
        r["key"] in outlet_orgs
        for r in logged_in(officer).get("/").context["board"]["orgs"]["best"]
    )


def test_bank_wide_groupings_are_only_for_head_office_users(officer, head_office):
    assert logged_in(head_office).get("/analysis/by/product/").status_code == 200
    assert logged_in(officer).get("/analysis/by/product/").status_code == 404


def test_excel_export_holds_only_the_subtree(officer, places):
    import io

    import openpyxl

    answer = logged_in(officer).get("/analysis/export.xlsx")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    keys = {row[1] for sheet in book for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert keys <= set(org_tree().subtree(places.outlet)) | _officer_ids(places)
    assert places.root not in keys
    assert places.other_coop not in keys


def _officer_ids(places) -> set[str]:
    from loanquality.common.scope import Scope
    from loanquality.portfolio import selectors

    tree = org_tree()
    scope = Scope(places.outlet, tuple(tree.subtree(places.outlet)), tree)
    return set(selectors.officers_of(scope, selectors.latest_close()))


@pytest.mark.parametrize("page", ["/operations/import/", "/operations/close/"])
def test_operations_pages_are_for_the_credit_department(officer, head_office, page):
    assert logged_in(officer).get(page).status_code == 403
    assert logged_in(head_office).get(page).status_code == 200


def test_api_loans_list_and_detail_are_scoped(client, officer, places, data_dir):
    headers = api_client(client, officer)
    outlet_orgs = set(org_tree().subtree(places.outlet))
    listed = client.get("/api/v1/loans", {"limit": 1000}, **headers).json()
    assert listed["total"] > 0
    assert {r["org_id"] for r in listed["rows"]} <= outlet_orgs
    theirs = loan_in(data_dir, list(outlet_orgs), inside=False)
    assert client.get(f"/api/v1/loans/{theirs['loan_id']}", **headers).status_code == 404
    searched = client.get("/api/v1/loans", {"q": theirs["customer_id"]}, **headers).json()
    assert searched["total"] == 0


def test_api_indicators_are_scoped(client, officer, head_office, places, data_dir):
    mine = client.get(
        "/api/v1/indicators", {"by": ["total", "org"]}, **api_client(client, officer)
    ).json()
    outlet_orgs = set(org_tree().subtree(places.outlet))
    lake = Lake(data_dir)
    closed = {
        r["key"]: r
        for r in lake.read("metrics", lake.as_ofs("metrics")[-1]).to_pylist()
        if r["group_by"] == "org" and r["key"] in outlet_orgs
    }
    keys = [(r["group_by"], r["key"]) for r in mine["rows"]]
    # every row once: below the head office "total" is the user's own org row, which the
    # org grouping holds too, so it must not come twice
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    # exactly the org rows of the outlet's subtree the close wrote, and no bank total
    assert sorted(keys) == sorted(("org", k) for k in closed)
    assert ("org", places.outlet) in keys
    outlet = next(r for r in mine["rows"] if r["key"] == places.outlet)
    assert (outlet["loan_count"], outlet["balance"]) == (
        closed[places.outlet]["loan_count"],
        closed[places.outlet]["balance"],
    )
    bank = client.get("/api/v1/indicators", {"by": "product"}, **api_client(client, head_office))
    products = {r["key"] for r in bank.json()["rows"]}
    assert products == {
        r["key"]
        for r in lake.read("metrics", lake.as_ofs("metrics")[-1]).to_pylist()
        if r["group_by"] == "product"
    }
    assert products  # the generated bank has products
    hidden = client.get("/api/v1/indicators", {"by": "product"}, **api_client(client, officer))
    assert hidden.json()["rows"] == []


def test_api_imports_are_for_the_credit_department(client, officer):
    headers = api_client(client, officer)
    answer = client.post(
        "/api/v1/imports",
        {"as_of": dt.date(2030, 1, 31).isoformat(), "loans": _tiny_file()},
        **headers,
    )
    assert answer.status_code == 403


def _tiny_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("loans.csv", "借据号\nX1\n".encode())


def test_api_without_a_valid_token_is_401(client):
    assert client.get("/api/v1/loans").status_code == 401
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401


def test_pages_without_login_redirect_to_login(client):
    for page in ("/", "/analysis/", "/loans/", "/search/", "/operations/import/"):
        answer = client.get(page)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/login/")
