from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.utils.cache import patch_cache_control

# Our scripts are files under /static (data reaches them in json_script blocks); styles may
# be inline because ECharts' tooltips, htmx and the progress bars write style attributes.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class PagesRequireLogin(LoginRequiredMiddleware):
    """Every page needs a session login; the API answers 401 on its own (bearer tokens)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class SecurityHeaders:
    """Every answer of a page or the API: the script policy, and no cache may keep it (they
    hold loans and customers). Static files never get here: WhiteNoise serves them first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        patch_cache_control(response, no_store=True)
        return response
