from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from loanquality.accounts.actions import revoke_tokens
from loanquality.accounts.authentication import LoginRefused, check_password_login


@login_not_required
def login_page(request):
    error = None
    if request.method == "POST":
        try:
            user = check_password_login(
                request, request.POST.get("username", ""), request.POST.get("password", "")
            )
        except LoginRefused as refused:
            error = refused.message
        else:
            login(request, user)
            target = request.GET.get("next", "")
            safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
            return redirect(target if target and safe else "dashboard")
    return render(request, "accounts/login.html", {"error": error}, status=401 if error else 200)


@require_POST
def logout_page(request):
    logout(request)
    return redirect("login")


def tokens_page(request):
    """The user's own API tokens: when each was issued and ends; revoke one or all."""
    if request.method == "POST":
        if request.POST.get("all"):
            revoke_tokens(request.user, why="page")
        elif not revoke_tokens(request.user, why="page", token_id=_token_id(request)):
            raise Http404("没有这个接口令牌")
        return redirect("account-tokens")
    tokens = request.user.api_tokens.order_by("-created_at")
    return render(request, "accounts/tokens.html", {"tokens": tokens, "now": timezone.now()})


def _token_id(request) -> int:
    try:
        return int(request.POST.get("token", ""))
    except ValueError:
        raise Http404("没有这个接口令牌") from None
