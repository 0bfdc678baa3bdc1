from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

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
