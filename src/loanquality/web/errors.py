"""Error pages in Chinese that say what was wrong, as the view said it."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponseServerError
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


def server_error(request):
    """500 in the site's layout; if the layout itself fails (the database down, say), a
    plain Chinese sentence rather than nothing."""
    try:
        return render(request, "500.html", status=500)
    except Exception:
        return HttpResponseServerError(
            "系统错误：服务器处理请求时出错，请稍后重试或联系系统管理员。",
            content_type="text/plain; charset=utf-8",
        )
