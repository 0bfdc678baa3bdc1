"""Printing: a Django template rendered to an A4 PDF in Debian's CJK fonts, by WeasyPrint.

One template serves both the browser's print view (rendered as usual) and the PDF: it
extends ``common/print_base.html``, whose layout is ``common/static/common/print.css``
(A4, "Noto Sans CJK SC" for text and "Noto Serif CJK SC" for headings, from Debian's
fonts-noto-cjk; the org and print date atop each page, 第 n 页，共 m 页 below). The print
view links that stylesheet; ``render_pdf`` hands the same file to WeasyPrint and sets
``pdf`` in the context so the template can tell the two apart.

WeasyPrint fetches nothing: a template's pictures are ``data:`` URLs, so text from a
bank's files can never make the server open a URL or a local file.

The engine never imports this module (it needs Django and WeasyPrint).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from loanquality.common.downloads import attachment

PDF_TYPE = "application/pdf"
BASE_TEMPLATE = "common/print_base.html"


@cache
def print_css() -> str:
    """The shared print stylesheet, read from the package (also served as static)."""
    return files("loanquality.common").joinpath("static/common/print.css").read_text("utf-8")


def render_pdf(
    template_name: str, context: dict[str, Any] | None = None, request: HttpRequest | None = None
) -> bytes:
    """The template rendered with ``context`` (and ``pdf`` true) as PDF bytes."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    html = render_to_string(template_name, {**(context or {}), "pdf": True}, request=request)
    fonts = FontConfiguration()
    fetcher = URLFetcher(allowed_protocols={"data"})
    document = HTML(string=html, url_fetcher=fetcher)
    stylesheet = CSS(string=print_css(), font_config=fonts, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts)


def pdf_response(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any] | None,
    filename: str,
    *,
    inline: bool = False,
) -> HttpResponse:
    """The PDF as a download named ``filename`` (Chinese kept: RFC 6266 ``filename*``), or
    shown in the browser when ``inline``."""
    return attachment(
        render_pdf(template_name, context, request), filename, PDF_TYPE, inline=inline
    )
