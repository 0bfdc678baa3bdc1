"""Printing: a template renders to an A4 PDF whose Chinese text reads back exactly, in
Debian's Noto CJK fonts, embedded; the same template is the browser's print view; the PDF
downloads under its Chinese name; WeasyPrint opens no file or URL a template names."""

from __future__ import annotations

import base64
import io
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone
from PIL import Image

from loanquality.common.pdf import pdf_response, print_css, render_pdf

TEMPLATE = "test_pdf/warning_form.html"
TITLE = "风险预警信号处理表"


@pytest.fixture(autouse=True)
def test_templates(settings):
    """The templates under tests/templates, beside the apps' own."""
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [Path(__file__).parent / "templates"]}]


def _context(loans: int = 1, **more) -> dict:
    rows = [{"loan_id": "JJ2024001", "customer": "王<b>建国</b>", "balance": "1,234,567.89"}]
    rows += [
        {"loan_id": f"JJ2024{n:03}", "customer": "李四", "balance": "100.00"}
        for n in range(2, loans + 1)
    ]
    return {"title": TITLE, "org": "城关支行", "loans": rows, **more}


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    """Run a poppler-utils tool (Debian's poppler-utils) on the PDF, its output as text."""
    answer = subprocess.run(
        [tool, *args, "-", "-"] if tool == "pdftotext" else [tool, *args, "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return answer.stdout.decode("utf-8")


def _words(text: str) -> list[list[str]]:
    """``pdftotext -layout`` output as its lines' words, blank lines left out."""
    return [line.split() for line in text.splitlines() if line.strip()]


def test_chinese_text_reads_back_exactly_from_an_a4_page():
    """The title, the org, the print date, the table and the page number come back from
    the PDF's text as written; a customer name holding HTML is text, not markup."""
    # given a 处理表 of one loan
    # when it is rendered to PDF and its text extracted
    pdf = render_pdf(TEMPLATE, _context())
    text = _poppler("pdftotext", pdf, "-layout")
    # then every line reads back exactly
    today = timezone.localdate()
    assert _words(text) == [
        ["城关支行", f"打印日期：{today.year}年{today.month}月{today.day}日"],
        [TITLE],
        ["借据号", "客户名称", "余额（元）"],
        ["JJ2024001", "王<b>建国</b>", "1,234,567.89"],
        ["经办人：", "复核人：", "负责人："],
        ["第", "1", "页，共", "1", "页"],
    ]
    # and the page is A4, the document titled by the template
    info = _poppler("pdfinfo", pdf)
    assert "Page size:       595.276 x 841.89 pts (A4)" in info
    assert f"Title:           {TITLE}" in info


def test_fonts_are_debians_noto_cjk_embedded():
    """Every font in the PDF is Noto Sans or Serif CJK SC, embedded as a subset, so the
    file prints the same on a machine without them."""
    # given a rendered 处理表
    pdf = render_pdf(TEMPLATE, _context())
    # when its fonts are listed
    rows = [line.split() for line in _poppler("pdffonts", pdf).splitlines()[2:]]
    # then they are the CJK faces the stylesheet names: sans for text, serif for the title
    names = {row[0].split("+")[1] for row in rows}
    assert names == {"Noto-Sans-CJK-SC", "Noto-Sans-CJK-SC-Bold", "Noto-Serif-CJK-SC-Bold"}
    # and each is embedded, subset, with a Unicode map (the text copies out as Chinese)
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in rows)


def test_a_long_table_repeats_its_header_and_numbers_its_pages():
    """A table longer than a page carries its header row and the org onto the next page,
    and each page says which of how many it is."""
    # given a 处理表 of 40 loans
    pdf = render_pdf(TEMPLATE, _context(loans=40))
    # when its second page's text is extracted
    pages = int(_poppler("pdfinfo", pdf).split("Pages:")[1].split()[0])
    second = _words(_poppler("pdftotext", pdf, "-layout", "-f", "2", "-l", "2"))
    # then the pages are numbered of their total, the header row and the org repeated
    assert pages == 2
    assert second[0][0] == "城关支行"
    assert second[1] == ["借据号", "客户名称", "余额（元）"]
    assert second[-1] == ["第", "2", "页，共", "2", "页"]


def test_the_same_template_is_the_print_view():
    """Rendered for the browser, the template links the print stylesheet served as a static
    file, the very file the PDF is laid out with."""
    # given the template rendered as a page
    page = render_to_string(TEMPLATE, _context())
    # then it links the static print.css and holds the text the PDF holds
    assert '<link rel="stylesheet" href="/static/common/print.css">' in page
    assert TITLE in page
    assert "王&lt;b&gt;建国&lt;/b&gt;" in page
    # and the static file served is the stylesheet the PDF uses
    assert Path(finders.find("common/print.css")).read_text("utf-8") == print_css()


def test_pdf_response_downloads_under_the_chinese_name():
    """``pdf_response`` answers application/pdf with the file name percent-encoded as
    UTF-8 (RFC 6266 ``filename*``), which browsers save under its Chinese name."""
    # given a request for a 处理表
    request = RequestFactory().get("/warnings/1/form.pdf")
    # when the PDF is answered
    response = pdf_response(request, TEMPLATE, _context(), f"{TITLE}-JJ2024001.pdf")
    # then it is a PDF download named in Chinese
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f"attachment; filename*=utf-8''{quote(f'{TITLE}-JJ2024001.pdf')}"
    )
    assert response.content.startswith(b"%PDF-")


def test_pictures_come_only_from_data_urls(tmp_path):
    """A picture a template names by a file (or any) URL is not fetched, so text from a
    bank's files can never have the server read a local file or open a URL; an inline
    ``data:`` picture is drawn."""
    # given a small PNG on disk, and the same PNG as a data: URL
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, "PNG")
    picture = tmp_path / "stamp.png"
    picture.write_bytes(png.getvalue())
    inline = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")
    # when each is rendered into a 处理表
    by_file = render_pdf(TEMPLATE, _context(picture=picture.as_uri()))
    by_data = render_pdf(TEMPLATE, _context(picture=inline))
    # then the file's picture is missing and the inline one drawn
    assert len(_poppler("pdfimages", by_file, "-list").splitlines()[2:]) == 0
    assert len(_poppler("pdfimages", by_data, "-list").splitlines()[2:]) == 1
