"""Error pages in Chinese that say what was wrong, as the view said it."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import Http404
from django.shortcuts import render
from django.urls import Resolver404


def bad_request(request, exception):
    """400 with the reason a view gave (``BadRequest``); Django's own refusals (a forged
    host, a broken upload) say nothing of themselves."""
    reason = str(exception) if isinstance(exception, BadRequest) else ""
    return render(request, "400.html", {"exception": reason}, status=400)


def not_found(request, exception):
    """404 with the reason a view gave; an unknown address has none to give."""
    given = isinstance(exception, Http404) and not isinstance(exception, Resolver404)
    reason = str(exception) if given else ""
    return render(request, "404.html", {"exception": reason}, status=404)
