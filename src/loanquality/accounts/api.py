"""API of accounts: a token for a username and password, and its end."""

from __future__ import annotations

from ninja import Router, Schema, Status

from loanquality.accounts.actions import issue_token, revoke_tokens
from loanquality.accounts.authentication import LoginRefused, check_password_login
from loanquality.api.schemas import Message

router = Router(tags=["auth"])


class Credentials(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str


@router.post("/token", auth=None, response={200: TokenOut, 401: Message})
def token(request, credentials: Credentials):
    """Exchange a username and password for a bearer token (30 days)."""
    try:
        user = check_password_login(request, credentials.username, credentials.password)
    except LoginRefused as refused:
        return Status(401, {"detail": refused.message})
    return Status(200, {"token": issue_token(user)})


@router.post("/logout", response={204: None})
def logout(request):
    """End the token this call is made with; the user's other tokens stay valid."""
    revoke_tokens(request.user, why="logout", token_id=request.api_token.pk)
    return Status(204, None)
