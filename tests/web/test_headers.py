"""What every answer tells the browser: run only our own scripts (Content-Security-Policy),
keep nothing with data in a cache, and the production settings serve only our host names."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import loan_in, logged_in
from loanquality.accounts.actions import issue_token
from loanquality.common.scope import org_tree

PAGES = (
    "/",
    "/analysis/",
    "/loans/",
    "/search/?q=C",
    "/overrides/",
    "/audit/",
    "/operations/import/",
    "/operations/close/",
)


def _policy(response) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))


def test_a_page_runs_only_our_own_scripts_and_is_never_cached(officer):
    """Scripts only from /static, nothing framed, posted or based elsewhere; styles may be
    inline (ECharts tooltips and htmx write style attributes)."""
    # when an officer opens the dashboard
    page = logged_in(officer).get("/")
    # then
    assert _policy(page) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    assert "no-store" in page["Cache-Control"]


def test_no_page_has_an_inline_script_or_event_handler(head_office, data_dir):
    """The policy's script-src 'self' would block them: every script is a file under
    /static or a json_script data block."""
    client = logged_in(head_office)
    loan = loan_in(data_dir, list(org_tree().names))
    for url in (*PAGES, f"/loans/{loan['loan_id']}/"):
        # when each page is rendered
        html = client.get(url).content.decode()
        # then no element carries an on… handler and every script has a src or holds data
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), url
        for attributes in re.findall(r"<script\b([^>]*)>", html):
            assert "src=" in attributes or 'type="application/json"' in attributes, url


def test_an_api_answer_is_never_cached(client, head_office):
    # when the close log is fetched with a token
    answer = client.get("/api/v1/closes", HTTP_AUTHORIZATION=f"Bearer {issue_token(head_office)}")
    # then no cache may keep it
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]


def test_static_files_stay_cacheable(client):
    # when a vendored script is fetched
    answer = client.get("/static/app/dashboard.js")
    # then it is served as it always was, cacheable
    assert answer.status_code == 200
    assert "no-store" not in answer.get("Cache-Control", "")


def test_production_settings_serve_only_the_local_host_names(tmp_path):
    """``testserver`` is the Django test client's name; only the test settings accept it."""
    # given the production settings with no ALLOWED_HOSTS in the environment
    env = {
        k: v for k, v in os.environ.items() if k not in ("ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")
    }
    env.update(SECRET_KEY="headers-test", LOANQUALITY_DATA_DIR=str(tmp_path))
    # when they are loaded
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from loanquality.web import settings; print(settings.ALLOWED_HOSTS)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # then
    assert shown.stdout.strip() == "['127.0.0.1', 'localhost']"
