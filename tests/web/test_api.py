"""The REST API: tokens, loans, indicators as the CLI writes them, closes, imports; and a
schemathesis run over the OpenAPI schema that must find no server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, Phase, given, settings

from conftest import PASSWORD, loan_in
from helpers import snapshot
from loanquality.accounts.actions import issue_token
from loanquality.engine.lake import Lake
from loanquality.engine.reports import indicators_document
from loanquality.portfolio.scope import org_tree


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user)}"}


def test_token_for_a_wrong_password_is_refused_in_chinese(client, officer):
    answer = client.post(
        "/api/v1/auth/token",
        {"username": "officer", "password": "wrong"},
        content_type="application/json",
    )
    assert answer.status_code == 401
    assert answer.json() == {"detail": "用户名或密码错误"}
    good = client.post(
        "/api/v1/auth/token",
        {"username": "officer", "password": PASSWORD},
        content_type="application/json",
    )
    assert len(good.json()["token"]) >= 40


def test_loan_detail_has_the_classification_and_its_history(client, head_office, data_dir):
    loan = loan_in(data_dir, list(org_tree().names))
    answer = client.get(f"/api/v1/loans/{loan['loan_id']}", **bearer(head_office)).json()
    for field in ("final_category", "reasons", "overdue_days", "rule_category", "balance"):
        assert answer[field] == loan[field]
    assert [h["as_of"] for h in answer["history"]] == [
        d.isoformat() for d in Lake(data_dir).as_ofs("classified")
    ]


def test_indicators_for_the_head_office_are_the_clis_document(client, head_office, data_dir):
    as_of = Lake(data_dir).as_ofs("metrics")[-1]
    answer = client.get(
        "/api/v1/indicators",
        {"as_of": as_of.isoformat(), "by": ["total", "org"]},
        **bearer(head_office),
    ).json()
    document = indicators_document(Lake(data_dir), as_of, ["total", "org"])
    assert answer["ruleset_sha256"] == document["ruleset_sha256"]
    by_key = {(r["group_by"], r["key"]): r for r in answer["rows"]}
    for row in document["rows"]:
        assert by_key[(row["group_by"], row["key"])]["npl_ratio"] == row["npl_ratio"]
        assert by_key[(row["group_by"], row["key"])]["balance"] == row["balance"]


def test_a_search_page_past_its_matches_still_counts_them(client, head_office, data_dir):
    lake = Lake(data_dir)
    loans = lake.read("classified", lake.as_ofs("classified")[-1]).to_pylist()
    live = [r for r in loans if not r["written_off"] and not r["off_balance"]]
    customer = live[0]["customer_id"]
    mine = [r for r in live if r["customer_id"] == customer]
    # by hand: the customer's loans on the books and their balance, whichever page is asked
    for offset in (0, len(mine)):
        answer = client.get(
            "/api/v1/loans", {"q": customer, "offset": offset}, **bearer(head_office)
        ).json()
        assert answer["total"] == len(mine)
        assert answer["total_balance"] == pytest.approx(sum(r["balance"] for r in mine))
        assert len(answer["rows"]) == len(mine) - offset


def test_a_date_never_closed_is_404(client, head_office):
    answer = client.get("/api/v1/loans", {"as_of": "2030-01-31"}, **bearer(head_office))
    assert answer.status_code == 404
    assert answer.json()["detail"] == "该报告日尚未结账"


def test_closes_lists_every_close_newest_first(client, head_office, data_dir):
    answer = client.get("/api/v1/closes", **bearer(head_office)).json()
    assert [c["as_of"] for c in answer] == [
        d.isoformat() for d in Lake(data_dir).as_ofs("metrics")[::-1]
    ]


def test_a_bad_import_is_400_with_every_problem_and_writes_nothing(
    client, head_office, own_data_dir
):
    before = snapshot(own_data_dir / "lake")
    ledger = (
        "借据号,客户号,客户类型,机构号,贷款余额,发放日,到期日\n"
        "X1,C1,外星人,L0000,-5,2024-01-01,2023-01-01\n"
    )
    answer = client.post(
        "/api/v1/imports",
        {"as_of": "2030-01-31", "loans": SimpleUploadedFile("bad.csv", ledger.encode())},
        **bearer(head_office),
    )
    assert answer.status_code == 400
    body = answer.json()
    # an unknown customer type, a negative balance, and a maturity before the issue date
    assert body["problem_total"] == 3, body
    assert all(p.startswith("bad.csv 第2行") for p in body["problems"])
    assert snapshot(own_data_dir / "lake") == before


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, keeping the test's database connection open across
    requests as Django's own test client does (a request's end would otherwise close it)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from loanquality.web.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_api_fuzzing_finds_no_server_error(head_office, own_data_dir, wsgi_app):
    """schemathesis draws requests from the OpenAPI schema for every operation."""

    headers = {"Authorization": f"Bearer {issue_token(head_office)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    statuses = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def never_a_server_error(case):
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, response.text[:500])

        never_a_server_error()
    # the fuzzing reached the endpoints: some answers succeeded, some inputs were refused
    assert 200 in statuses
    assert {400, 401, 404, 422} & set(statuses)


def test_a_username_with_nul_is_a_wrong_password_and_audited(client, db):
    """PostgreSQL refuses NUL in text: the login fails as any unknown user does."""
    from loanquality.audit.models import AuditEntry

    answer = client.post(
        "/api/v1/auth/token",
        {"username": "ad\x00min", "password": "x"},
        content_type="application/json",
    )
    assert answer.status_code == 401
    assert AuditEntry.objects.get(action="login.failed").username == "ad\ufffdmin"


def test_an_upload_named_with_nul_is_read_under_a_clean_name(client, head_office, own_data_dir):
    ledger = (
        "借据号,客户号,客户类型,机构号,贷款余额,发放日,到期日\n"
        "X1,C1,外星人,L0000,5,2024-01-01,2025-01-01\n"
    )
    answer = client.post(
        "/api/v1/imports",
        {"as_of": "2030-01-31", "loans": SimpleUploadedFile("bad\x00.csv", ledger.encode())},
        **bearer(head_office),
    )
    assert answer.status_code == 400
    assert answer.json()["problems"][0].startswith("bad.csv 第2行")
