"""The API as each app's router mounted under /api/v1: every operation in the schema with
its tag and its id, and what the apps' endpoints answer a user below the head office."""

from __future__ import annotations

from collections import Counter

from loanquality.accounts.actions import issue_token
from loanquality.api.api import ROUTERS
from loanquality.api.schemas import Problem
from loanquality.engine import problems
from loanquality.engine.lake import Lake


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user)}"}


def test_every_app_routers_operations_are_in_the_schema_with_their_tags(client):
    """Each operation an app's router declares is served under /api/v1 + its prefix, tagged
    as the operation (or else its router) says, with an id of its own."""
    # given the operations the mounted routers declare
    declared = {
        (method, "/api/v1" + prefix + path): operation.tags or router.tags
        for prefix, router in ROUTERS
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    # when the schema is fetched
    schema = client.get("/api/v1/openapi.json").json()
    served = {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    # then the schema has exactly those operations, each with its tags
    assert set(served) == set(declared)
    for name, tags in declared.items():
        assert served[name]["tags"] == tags, name
    # and the ids clients were generated against, none used twice
    ids = Counter(operation["operationId"] for operation in served.values())
    assert max(ids.values()) == 1, ids
    assert served["POST", "/api/v1/overrides/{override_id}/reject"]["operationId"] == (
        "loanquality_api_api_reject_override"
    )


def test_every_app_has_its_operations_mounted(client):
    """The endpoints of accounts, portfolio, operations, 认定, audit and early warning,
    under their tags."""
    schema = client.get("/api/v1/openapi.json").json()
    tagged = {
        f"{method.upper()} {path.removeprefix('/api/v1')}": operation["tags"]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert tagged == {
        "POST /auth/token": ["auth"],
        "POST /auth/logout": ["auth"],
        "GET /loans": ["loans"],
        "GET /loans/{loan_id}": ["loans"],
        "GET /indicators": ["indicators"],
        "GET /closes": ["closes"],
        "POST /imports": ["imports"],
        "POST /overrides": ["overrides"],
        "GET /overrides": ["overrides"],
        "POST /overrides/{override_id}/approve": ["overrides"],
        "POST /overrides/{override_id}/reject": ["overrides"],
        "POST /overrides/{override_id}/withdraw": ["overrides"],
        "GET /audit": ["audit"],
        "GET /signals": ["signals"],
        "GET /warnings": ["warnings"],
        "GET /warnings/{warning_id}": ["warnings"],
        "POST /warnings/{warning_id}/assign": ["warnings"],
        "POST /warnings/{warning_id}/start": ["warnings"],
        "POST /warnings/{warning_id}/measures": ["warnings"],
        "POST /warnings/{warning_id}/resolve": ["warnings"],
        "POST /warnings/{warning_id}/transfer": ["warnings"],
        "POST /warnings/{warning_id}/close": ["warnings"],
    }


def test_indicators_by_total_and_org_give_an_outlets_row_once(client, officer, places, data_dir):
    """Below the head office the user's "total" is their own org's row, which the org
    grouping holds too: asked for both, the answer lists it once."""
    # given an officer of an outlet and the latest close
    as_of = Lake(data_dir).as_ofs("metrics")[-1]
    # when they ask for the total and the org grouping
    answer = client.get(
        "/api/v1/indicators",
        {"as_of": as_of.isoformat(), "by": ["total", "org"]},
        **bearer(officer),
    ).json()
    # then every (grouping, key) comes once, the outlet's org row among them
    keys = Counter((r["group_by"], r["key"]) for r in answer["rows"])
    assert keys["org", places.outlet] == 1
    assert max(keys.values()) == 1, keys
    # and the same row as the total alone answers
    total = client.get("/api/v1/indicators", {"as_of": as_of.isoformat()}, **bearer(officer)).json()
    assert [(r["group_by"], r["key"]) for r in total["rows"]] == [("org", places.outlet)]


def test_a_coops_credit_department_sees_closes_without_how_they_ran(
    client, make_user, places, head_office
):
    """The close log is the whole bank's and listed to everyone; who ran a close and how
    only to those who may run one, which a co-op's credit department may not (closes are
    the legal entity's)."""
    # given the credit department of a co-op, below the legal entity
    coop_credit = make_user("coop-credit", "credit_dept", places.coop)
    # when it and the head office's credit department read the closes
    seen = client.get("/api/v1/closes", **bearer(coop_credit)).json()
    by_operator = client.get("/api/v1/closes", **bearer(head_office)).json()
    # then it sees every close, but nothing of who ran it on which engine, or its counts
    assert [c["close_id"] for c in seen] == [c["close_id"] for c in by_operator]
    for close in seen:
        hidden = ("user", "engine", "rows", "overrides", "seconds", "replaced")
        assert {k: close[k] for k in hidden} == dict.fromkeys(hidden), close
    assert all(c["user"] for c in by_operator)


def test_a_problem_of_an_uploaded_file_is_answered_where_and_what_in_chinese():
    """The shared Problem schema says an engine problem's place and its Chinese text."""
    # given a problem the engine found in a file
    found = problems.Problem(
        "loans.csv", 3, "balance", "贷款余额", "-5", "negative balance", "余额不能为负"
    )
    # when it is answered, then each field says where, and the message what
    assert Problem.of(found) == {
        "file": "loans.csv",
        "line": 3,
        "column": "balance",
        "label": "贷款余额",
        "value": "-5",
        "message": "余额不能为负",
    }
    assert Problem.model_validate(Problem.of(found)).label == "贷款余额"
