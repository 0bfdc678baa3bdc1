"""In Chromium: the API's docs render with every request outside the server refused (a
bank intranet), roles are offered only what they may do, error pages keep the layout."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from browsing import ARTIFACTS, log_in, open_page

pytestmark = pytest.mark.e2e


def test_the_api_docs_render_without_any_other_host(server, browser):
    base, _ = server
    page = open_page(browser)
    outside = []

    def only_this_server(route):
        if urlparse(route.request.url).netloc == urlparse(base).netloc:
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", only_this_server)
    log_in(browser, base, "risk", page)
    page.goto(base + "/api/v1/docs")
    page.wait_for_selector("#swagger-ui .info")
    assert "loanquality API" in page.inner_text("#swagger-ui .info")
    assert outside == []
    page.screenshot(path=ARTIFACTS / "api-docs-offline.png", full_page=True)


@pytest.mark.parametrize(
    ("username", "offered"), [("analyst", True), ("admin", False), ("auditor", False)]
)
def test_batch_proposals_are_offered_only_to_proposers(server, browser, username, offered):
    base, _ = server
    page = log_in(browser, base, username)
    page.goto(base + "/overrides/?tab=all")
    assert (page.locator("text=批量认定").count() > 0) is offered


def test_an_unknown_page_keeps_the_navigation_and_says_what_to_do(server, browser):
    base, _ = server
    page = log_in(browser, base, "officer")
    answer = page.goto(base + "/loans/NO-SUCH-LOAN/")
    assert answer.status == 404
    assert "首页驾驶舱" in page.inner_text("nav")
    assert "返回首页" in page.inner_text("main, body")
