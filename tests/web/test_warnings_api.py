"""/api/v1/signals and /api/v1/warnings: lists with their filters within the user's
subtree, a case's detail, and each transition — 409 with the Chinese reason from a wrong
state, 400 for resolving without a measure, 404 outside the subtree, 403 for the
maker–checker rule — each leaving the case and the audit log as they were when refused."""

from __future__ import annotations

import pytest
from signal_lake import latest, live_loans, publish_signals, signal

from loanquality.accounts.actions import issue_token
from loanquality.audit.models import AuditEntry
from loanquality.audit.runs import Operator
from loanquality.warnings.actions import sync_close
from loanquality.warnings.models import Case, State


def bearer(user) -> dict:
    """The user's token, issued once per test (issuing one is audited)."""
    if not hasattr(user, "test_token"):
        user.test_token = issue_token(user)
    return {"HTTP_AUTHORIZATION": f"Bearer {user.test_token}"}


@pytest.fixture
def synced(own_data_dir, places, coop_orgs, officer):
    """Signals of the latest close: an LTV_HIGH (高) and a MAT1M (中) on two loans of the
    outlet, the first managed by the outlet's officer; a MAT3M (低) in the other co-op."""
    outlet = [r for r in live_loans(own_data_dir, [places.outlet]) if r["manager_id"]]
    far = live_loans(own_data_dir, _subtree(places.other_coop))[0]
    officer.staff_id = outlet[0]["manager_id"]
    officer.save(update_fields=["staff_id"])
    rows = [
        signal("LTV_HIGH", outlet[0], 3, 0.85, 0.70),
        signal("MAT1M", outlet[1], 2, 20, 30, manager_id="none"),
        signal("MAT3M", far, 1, 75, 90),
    ]
    publish_signals(own_data_dir, latest(own_data_dir), rows)
    sync_close(latest(own_data_dir), actor=Operator("tester"))
    return {c.code: c for c in Case.objects.all()}


def _subtree(org: str) -> list[str]:
    from loanquality.common.scope import org_tree

    return org_tree().subtree(org)


def ids(answer) -> list[str]:
    return [c["code"] for c in answer.json()]


def test_the_list_is_scoped_and_filtered(client, synced, officer, head_office, places):
    """Worst first; an outlet's officer sees the outlet's cases only."""
    everything = client.get("/api/v1/warnings", **bearer(head_office))
    assert ids(everything) == ["LTV_HIGH", "MAT1M", "MAT3M"]
    assert ids(client.get("/api/v1/warnings", **bearer(officer))) == ["LTV_HIGH", "MAT1M"]
    head = bearer(head_office)
    assert ids(client.get("/api/v1/warnings", {"severity": 2}, **head)) == ["MAT1M"]
    assert ids(client.get("/api/v1/warnings", {"code": "MAT3M"}, **head)) == ["MAT3M"]
    assert ids(client.get("/api/v1/warnings", {"state": "new"}, **head)) == ["MAT1M", "MAT3M"]
    assert ids(client.get("/api/v1/warnings", {"state": "active"}, **head)) == [
        "LTV_HIGH",
        "MAT1M",
        "MAT3M",
    ]
    assert ids(client.get("/api/v1/warnings", {"org": places.other_coop}, **head)) == ["MAT3M"]
    manager = synced["LTV_HIGH"].manager_id
    assert ids(client.get("/api/v1/warnings", {"officer": manager}, **head)) == ["LTV_HIGH"]
    mine = client.get("/api/v1/warnings", {"assignee": "me"}, **bearer(officer))
    assert ids(mine) == ["LTV_HIGH"]
    assert ids(client.get("/api/v1/warnings", {"overdue": True}, **head)) == []
    assert ids(client.get("/api/v1/warnings", {"limit": 1, "offset": 1}, **head)) == ["MAT1M"]
    # an org outside the subtree is as none
    far = client.get("/api/v1/warnings", {"org": places.other_coop}, **bearer(officer))
    assert far.status_code == 404


def test_a_case_in_detail_and_outside_the_subtree(client, synced, officer):
    case = synced["LTV_HIGH"]
    answer = client.get(f"/api/v1/warnings/{case.pk}", **bearer(officer))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["state"], body["assignee"], body["severity"]) == ("assigned", "officer", 3)
    assert body["available"] == ["measure", "resolve", "start", "transfer"]
    assert [h["value"] for h in body["history"]] == [0.85]
    far = client.get(f"/api/v1/warnings/{synced['MAT3M'].pk}", **bearer(officer))
    assert far.status_code == 404
    assert "不在您的机构范围内" in far.json()["detail"]
    token = bearer(officer)
    before = AuditEntry.objects.count()
    url = f"/api/v1/warnings/{synced['MAT3M'].pk}/start"
    assert client.post(url, content_type="application/json", data={}, **token).status_code == 404
    assert AuditEntry.objects.count() == before


def post(client, user, case, action: str, body: dict | None = None):
    return client.post(
        f"/api/v1/warnings/{case.pk}/{action}",
        data=body or {},
        content_type="application/json",
        **bearer(user),
    )


def test_the_officer_resolves_and_a_checker_closes_through_the_api(
    client, synced, officer, risk, director
):
    case = synced["LTV_HIGH"]
    assert post(client, officer, case, "start").json()["state"] == "in_progress"
    answer = post(client, officer, case, "measures", {"measure": "要求追加抵押物"})
    assert [m["measure"] for m in answer.json()["measures"]] == ["要求追加抵押物"]
    # resolving without a measure and its result: 400, nothing changed
    rows = AuditEntry.objects.count()
    refused = post(client, officer, case, "resolve", {"measure": "", "result": ""})
    assert refused.status_code == 400
    assert refused.json()["detail"] == "化解预警须记录处置措施及其结果"
    assert Case.objects.get(pk=case.pk).state == State.IN_PROGRESS
    assert AuditEntry.objects.count() == rows
    resolved = post(
        client, officer, case, "resolve", {"measure": "追加抵押", "result": "抵押率降至0.65"}
    )
    assert resolved.json()["state"] == "resolved"
    # the officer cannot close; the director can
    assert post(client, officer, case, "close").status_code == 403
    closed = post(client, director, case, "close", {"comment": "已复核"})
    assert (closed.status_code, closed.json()["closed_by"]) == (200, "director")
    # start, measure, resolve, close: one row each, none for the refusals
    assert AuditEntry.objects.filter(target=f"warning:{case.pk}").count() == 4


def test_a_wrong_state_answers_409_in_chinese_and_changes_nothing(
    client, synced, risk, director, officer
):
    case = synced["MAT1M"]  # 新建
    bearer(director)  # its token issued (and audited) before counting
    rows = AuditEntry.objects.count()
    for action, body, reason in [
        ("start", {}, "该预警事项新建，尚未分派，请先分派处理人"),
        ("close", {}, "该预警事项新建，尚未化解或转处置，不能关闭"),
        ("resolve", {"measure": "a", "result": "b"}, "该预警事项新建，请先分派处理人"),
        ("transfer", {"disposal_ref": "CZ-1"}, "该预警事项新建，请先分派处理人"),
    ]:
        answer = post(client, director, case, action, body)
        assert (answer.status_code, answer.json()["detail"]) == (409, reason), action
    assert Case.objects.get(pk=case.pk).state == State.NEW
    assert AuditEntry.objects.count() == rows
    # assigning works, and an unknown assignee is a 400
    assert post(client, risk, case, "assign", {"assignee": "nobody"}).status_code == 400
    assigned = post(client, risk, case, "assign", {"assignee": "officer"})
    assert (assigned.json()["state"], assigned.json()["assignee"]) == ("assigned", "officer")


def test_the_resolver_cannot_close_their_own(client, synced, risk, director):
    case = synced["MAT1M"]
    post(client, risk, case, "assign", {"assignee": "risk"})
    post(client, risk, case, "measures", {"measure": "电话提示", "result": "客户承诺按期还款"})
    assert post(client, risk, case, "resolve").json()["state"] == "resolved"
    refused = post(client, risk, case, "close")
    assert refused.status_code == 403
    assert "须由他人复核关闭" in refused.json()["detail"]
    assert post(client, director, case, "close").json()["state"] == "closed"


def test_signals_of_a_close_scoped_and_filtered(client, synced, officer, head_office, places):
    every = client.get("/api/v1/signals", **bearer(head_office)).json()
    assert [r["code"] for r in every["rows"]] == ["LTV_HIGH", "MAT1M", "MAT3M"]
    assert every["as_of"] == synced["LTV_HIGH"].last_as_of.isoformat()
    mine = client.get("/api/v1/signals", **bearer(officer)).json()
    assert [r["code"] for r in mine["rows"]] == ["LTV_HIGH", "MAT1M"]
    chosen = client.get(
        "/api/v1/signals", {"code": ["MAT1M", "MAT3M"]}, **bearer(head_office)
    ).json()
    assert [r["code"] for r in chosen["rows"]] == ["MAT1M", "MAT3M"]
    org = client.get("/api/v1/signals", {"org": places.other_coop}, **bearer(head_office))
    assert [r["code"] for r in org.json()["rows"]] == ["MAT3M"]
    assert client.get(
        "/api/v1/signals", {"as_of": "2001-01-31"}, **bearer(officer)
    ).status_code == (404)
    assert (
        client.get("/api/v1/signals", {"org": places.other_coop}, **bearer(officer)).status_code
        == 404
    )


# --- the reads the pages use -----------------------------------------------------------


def test_open_counts_by_org_and_severity_drill_to_their_lists(synced, head_office, places):
    """The head office: its whole bank (total), then each co-op: the outlet's 高 and 中 in
    its co-op, the 低 in the other; none overdue yet (due in 7 / 15 / 30 days)."""
    from loanquality.common.scope import scope_of
    from loanquality.warnings.selectors import open_counts

    rows = open_counts(scope_of(head_office))
    cells = {(r["org_id"], r["severity"]): (r["open"], r["overdue"]) for r in rows}
    assert cells[places.root, 3] == cells[places.root, 2] == cells[places.root, 1] == (1, 0)
    assert (cells[places.coop, 3], cells[places.coop, 2], cells[places.coop, 1]) == (
        (1, 0),
        (1, 0),
        (0, 0),
    )
    assert cells[places.other_coop, 1] == (1, 0)
    [total] = [r for r in rows if r["total"] and r["severity"] == 3]
    assert total["org_id"] == places.root
    [coop] = [r for r in rows if r["org_id"] == places.coop and r["severity"] == 2]
    assert coop["open_url"] == f"/warnings/?org={places.coop}&severity=2&state=active"
    assert coop["overdue_url"] == coop["open_url"] + "&overdue=1"


def test_notice_loans_are_the_kinds_loans_with_their_maturity(synced, officer, own_data_dir):
    """The MAT1M loan of the outlet with the customer, balance and (extended) maturity the
    提示函 prints; the MAT3M loan of the other co-op is not the officer's."""
    from loanquality.common.scope import scope_of
    from loanquality.warnings.selectors import notice_loans

    scope = scope_of(officer)
    as_of = latest(own_data_dir)
    [row] = notice_loans(scope, as_of, "MAT1M")
    loan = next(r for r in live_loans(own_data_dir) if r["loan_id"] == synced["MAT1M"].loan_id)
    assert row["loan_id"] == loan["loan_id"]
    assert row["maturity_date"] == (loan["extended_maturity_date"] or loan["maturity_date"])
    assert (row["customer_id"], row["balance"]) == (loan["customer_id"], loan["balance"])
    assert notice_loans(scope, as_of, "MAT3M") == []
    assert notice_loans(scope, as_of, "MAT1M", loan_id="nope") == []


def test_a_disposal_ref_longer_than_64_characters_is_400(client, synced, officer):
    """65 characters: refused by the schema (400, in Chinese), the case unchanged."""
    case = synced["LTV_HIGH"]
    post(client, officer, case, "start")
    refused = post(client, officer, case, "transfer", {"disposal_ref": "C" * 65})
    assert refused.status_code == 400
    assert "disposal_ref" in refused.json()["detail"]
    assert Case.objects.get(pk=case.pk).state == State.IN_PROGRESS
    done = post(client, officer, case, "transfer", {"disposal_ref": "C" * 64})
    assert (done.status_code, done.json()["disposal_ref"]) == (200, "C" * 64)
