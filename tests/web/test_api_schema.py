"""schemathesis draws requests from the API's OpenAPI schema, valid and invalid, for every
operation, sends them to the WSGI application with a head-office token, and checks each
answer against the schema: no server error, only declared statuses, content types and
bodies, invalid requests refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.generation import GenerationMode

from loanquality.accounts.actions import issue_token

EXAMPLES = 40  # per operation and mode: the run stays well under a minute
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


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


def _fuzz(operation, mode: GenerationMode, token: str, fresh_token, statuses: list[int]):
    """Send ``EXAMPLES`` requests drawn for ``operation`` (``token`` given, not drawn) and
    check each answer; ``fresh_token()``, when given, replaces the token on every call."""

    @given(case=operation.as_strategy(generation_mode=mode, headers=_bearer(token)))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case):
        response = case.call(headers=_bearer(fresh_token()) if fresh_token else None)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    conforms()


def _has_input(operation) -> bool:
    """Whether the operation takes anything besides the token (which is given, not drawn)."""
    named = [p.name for p in operation.iter_parameters() if p.name != "Authorization"]
    return bool(named or operation.body)


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_conforms_to_the_schema(head_office, own_data_dir, wsgi_app, mode):
    # given the schema the application serves, and a token of the head office
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    shared = issue_token(head_office)
    statuses: list[int] = []
    # when requests drawn from it are sent to every operation (a logout ends the token it is
    # called with, so it gets a fresh one each time), then each answer conforms
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not _has_input(operation):
            continue  # nothing to make invalid
        logout = operation.path.endswith("/auth/logout")
        fresh = (lambda: issue_token(head_office)) if logout else None
        _fuzz(operation, mode, shared, fresh, statuses)
    # and the drawing reached the endpoints: valid requests succeeded, invalid ones were refused
    assert len(operations) >= 12
    assert (200 in statuses) if mode is GenerationMode.POSITIVE else (400 in statuses)
