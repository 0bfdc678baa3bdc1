"""A file the browser downloads: its bytes, its type and its name (Chinese kept, RFC 6266
``filename*``), the one way every export and print answers."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from loanquality.common.exports import XLSX_TYPE


def attachment(content: bytes, filename: str, content_type: str, *, inline: bool = False):
    """``content`` as a download named ``filename``, or shown in the browser when ``inline``."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    return response


def xlsx_attachment(content: bytes, filename: str) -> HttpResponse:
    return attachment(content, filename, XLSX_TYPE)
