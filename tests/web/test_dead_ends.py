"""No dead ends: a user is offered only what their role allows, a refused form keeps what
was typed and says why, error pages are Chinese and in the site's layout, the API's docs
come from the application's own files."""

from __future__ import annotations

import pytest

from conftest import logged_in
from loanquality.engine.lake import Lake


def latest_loans(data_dir) -> list[dict]:
    lake = Lake(data_dir)
    return lake.read("classified", lake.as_ofs("classified")[-1]).to_pylist()


@pytest.mark.parametrize(
    ("role", "offered"), [("risk", True), ("admin", False), ("auditor", False)]
)
def test_batch_proposals_are_offered_only_to_roles_that_may_propose(
    make_user, places, role, offered
):
    user = make_user(f"a-{role}", role, places.root)
    page = logged_in(user).get("/overrides/?tab=all").content.decode()
    assert ("批量认定" in page) is offered


def test_an_officer_is_offered_a_proposal_only_for_the_loans_they_manage(
    make_user, places, data_dir
):
    """Staff S1 manages loan A; loan B of the same outlet is someone else's: the loan page
    offers 发起认定 on A only, and B's proposal page says why instead of a form."""
    # given
    from loanquality.common.scope import org_tree

    outlet_orgs = set(org_tree().subtree(places.outlet))
    live = [r for r in latest_loans(data_dir) if r["org_id"] in outlet_orgs and r["balance"] > 0]
    mine = live[0]
    theirs = next(r for r in live if mine["manager_id"] not in (r["manager_id"], r["manager_b_id"]))
    officer = make_user("officer-s1", "officer", places.outlet)
    officer.staff_id = mine["manager_id"]
    officer.save(update_fields=["staff_id"])
    client = logged_in(officer)
    # then
    assert "发起认定</a>" in client.get(f"/loans/{mine['loan_id']}/").content.decode()
    assert "发起认定</a>" not in client.get(f"/loans/{theirs['loan_id']}/").content.decode()
    refused = client.get(f"/loans/{theirs['loan_id']}/override/").content.decode()
    assert "客户经理只能对自己管户（含B角）的贷款发起认定" in refused
    assert 'id="reason"' not in refused  # no form to fill in and have refused


def test_a_refused_proposal_keeps_the_category_and_reason_typed(head_office, data_dir):
    """An upgrade above the rules without the UPG conditions is refused (400) with the
    reason; the chosen 关注 (2) and the reason typed are still in the form."""
    # given: a loan the rules put in NPL that may not be upgraded
    loan = next(
        r
        for r in latest_loans(data_dir)
        if r["rule_category"] >= 3 and r["balance"] > 0 and not r["written_off"]
        and not r["upgrade_allowed"]
    )  # fmt: skip
    # when
    page = logged_in(head_office).post(
        f"/loans/{loan['loan_id']}/override/", {"category": "2", "reason": "已恢复还款"}
    )
    # then
    text = page.content.decode()
    assert page.status_code == 400
    assert "不能认定为关注" in text
    assert '<option value="2" selected>' in text
    assert ">已恢复还款</textarea>" in text


def test_error_pages_are_chinese_in_the_site_layout(head_office):
    client = logged_in(head_office)
    page = client.get("/no-such-page/")
    text = page.content.decode()
    assert page.status_code == 404
    assert "未找到（404）" in text
    assert "请检查地址" in text
    assert 'class="navbar' in text  # the site's navigation


def test_the_server_error_page_is_in_the_layout(rf, head_office):
    from loanquality.web.errors import server_error

    request = rf.get("/")
    request.user = head_office
    page = server_error(request)
    text = page.content.decode()
    assert page.status_code == 500
    assert "系统错误（500）" in text
    assert 'class="navbar' in text


def test_the_api_docs_come_from_the_vendored_swagger_ui(client):
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "/static/vendor/swagger-ui/swagger-ui.css" in page
    assert "cdn" not in page.lower()


def test_the_navigation_names_the_users_org_with_its_code_on_hover(head_office, places):
    from loanquality.common.scope import org_tree

    page = logged_in(head_office).get("/").content.decode()
    name = org_tree().name(places.root)
    assert name != places.root
    assert f'<span title="{places.root}">{name}</span>' in page
