from django.contrib.auth.middleware import LoginRequiredMiddleware


class PagesRequireLogin(LoginRequiredMiddleware):
    """Every page needs a session login; the API answers 401 on its own (bearer tokens)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
