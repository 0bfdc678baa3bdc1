"""The REST API: tokens, loans, indicators as the CLI writes them, closes, imports, and its
errors (the schemathesis run over the whole schema is in test_api_schema.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conftest import PASSWORD, loan_in
from helpers import snapshot
from loanquality.accounts.actions import issue_token
from loanquality.accounts.models import ApiToken
from loanquality.common.scope import org_tree
from loanquality.engine.close import close_log
from loanquality.engine.lake import Lake
from loanquality.engine.reports import indicators_document


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
    assert good.status_code == 200
    (token,) = good.json().values()  # {"token": ...} and nothing else
    # 32 random bytes, URL-safe base64 without padding: 43 characters
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token
    # only its SHA-256 is kept, for the officer, valid 30 days from now
    (kept,) = ApiToken.objects.filter(user=officer)
    assert kept.digest == hashlib.sha256(token.encode()).hexdigest()
    assert abs(kept.expires_at - timezone.now() - dt.timedelta(days=30)) < dt.timedelta(minutes=1)
    # and it opens the API: the closes list answers with it, and refuses a wrong one
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/closes", **auth).status_code == 200
    assert client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {token}x").status_code == 401


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


def test_a_date_past_the_range_is_400_in_chinese_not_a_server_error(client, head_office):
    """The audit filter reads ``to`` up to the next midnight: after 9999-12-31 there is none."""
    # when the audit is asked for everything up to the last day there is
    answer = client.get("/api/v1/audit", {"to": "9999-12-31"}, **bearer(head_office))
    # then the date is refused with the range, in Chinese
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "参数 to：日期应在 1900-01-01 至 2999-12-31 之间（收到「9999-12-31」）"
    }


def test_a_malformed_request_is_400_naming_each_problem_in_chinese(client, head_office):
    # given a day that does not exist, a date in another form, a filter and a page size
    # the API does not know, and a grouping it does not have
    asked = {"as_of": "2024-02-30", "kind": "bad", "limit": "0"}
    # when loans and indicators are asked for with them
    loans = client.get("/api/v1/loans", asked, **bearer(head_office))
    indicators = client.get(
        "/api/v1/indicators", {"as_of": "31/01/2024", "by": "region"}, **bearer(head_office)
    )
    # then each is 400 with every problem, by parameter, in Chinese
    assert (loans.status_code, indicators.status_code) == (400, 400)
    assert loans.json()["detail"].split("；") == [
        "参数 as_of：不是有效日期（收到「2024-02-30」）",
        "参数 kind：应为 all、npl、special_mention、overdue、overdue90、hidden 之一",
        "参数 limit：不应小于 1",
    ]
    assert indicators.json()["detail"].split("；") == [
        "参数 as_of：日期格式应为 YYYY-MM-DD（收到「31/01/2024」）",
        "参数 by：应为 total、org、manager、product、customer_type、industry、guarantee_type、"
        "village 之一",
    ]


def test_a_call_without_a_valid_token_is_401_in_chinese(client):
    answer = client.get("/api/v1/closes", HTTP_AUTHORIZATION="Bearer nonsense")
    assert answer.status_code == 401
    assert answer.json() == {"detail": "令牌无效或已过期，请先通过 /api/v1/auth/token 取得令牌"}


def test_the_schema_declares_every_status_and_every_choice(client):
    """What the API answers and accepts is in its OpenAPI schema, for clients and fuzzers."""
    # when the schema is fetched
    schema = client.get("/api/v1/openapi.json").json()
    operations = {
        f"{method.upper()} {path.removeprefix('/api/v1')}": operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    # then every operation declares a malformed request and a missing token, and those that
    # refuse a role or find nothing declare it
    for name, operation in operations.items():
        assert {"400", "401"} <= set(operation["responses"]), name
    for name in ("GET /audit", "POST /imports", "POST /overrides"):
        assert "403" in operations[name]["responses"], name
    for name in (
        "GET /loans/{loan_id}",
        "GET /indicators",
        "POST /overrides/{override_id}/approve",
    ):
        assert "404" in operations[name]["responses"], name

    # and the choices: filters, groupings, 认定 states and the five categories
    def parameter(name, parameter_name):
        found = {p["name"]: p["schema"] for p in operations[name]["parameters"]}
        return found[parameter_name]

    assert parameter("GET /loans", "kind")["enum"] == [
        "all", "npl", "special_mention", "overdue", "overdue90", "hidden",
    ]  # fmt: skip
    assert parameter("GET /indicators", "by")["items"]["enum"] == [
        "total", "org", "manager", "product", "customer_type", "industry", "guarantee_type",
        "village",
    ]  # fmt: skip
    assert parameter("GET /overrides", "status")["anyOf"][0]["enum"] == [
        "pending", "approved", "rejected", "withdrawn",
    ]  # fmt: skip
    category = schema["components"]["schemas"]["OverrideIn"]["properties"]["category"]
    assert (category["minimum"], category["maximum"]) == (1, 5)


def test_closes_lists_every_close_newest_first(client, head_office, data_dir):
    answer = client.get("/api/v1/closes", **bearer(head_office)).json()
    assert [c["as_of"] for c in answer] == [
        d.isoformat() for d in Lake(data_dir).as_ofs("metrics")[::-1]
    ]


def test_an_officer_sees_when_and_by_which_rules_each_date_closed_not_how(
    client, officer, head_office, data_dir
):
    """Who ran a close, on which engine, the whole bank's row counts, the 认定 applied and
    the time it took are for those who run closes; everyone sees what was closed, when,
    against which earlier closes and under which rule set."""
    # given the close log the test bank's two closes wrote, newest first
    logged = close_log(Lake(data_dir))[::-1]
    # when an officer and the head office's credit department read the closes
    seen_by_officer = client.get("/api/v1/closes", **bearer(officer)).json()
    seen_by_operator = client.get("/api/v1/closes", **bearer(head_office)).json()
    # then the officer gets the dates, the rule set and the time, the rest left empty
    for seen, entry in zip(seen_by_officer, logged, strict=True):
        assert _at_as_logged(seen) == {
            "close_id": entry["close_id"],
            "as_of": entry["as_of"],
            "previous_as_of": entry["previous_as_of"],
            "base_as_of": entry["base_as_of"],
            "ruleset": entry["ruleset"],
            "ruleset_sha256": entry["ruleset_sha256"],
            "at": entry["at"],
            "user": None,
            "engine": None,
            "rows": None,
            "overrides": None,
            "seconds": None,
            "replaced": None,
        }
    # and the credit department every field as logged
    assert [_at_as_logged(seen) for seen in seen_by_operator] == logged


def _at_as_logged(entry: dict) -> dict:
    """The entry with its time written as the log writes it (the API writes UTC as Z)."""
    at = dt.datetime.fromisoformat(entry["at"]).isoformat(timespec="seconds")
    return {**entry, "at": at}


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
