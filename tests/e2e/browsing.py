"""What the browser tests share: where screenshots go, and how a page logs in."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "e2e-password-2026"


def open_page(browser):
    return browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")


def log_in(browser, base: str, username: str, page=None):
    page = page or open_page(browser)
    page.goto(base + "/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    return page
