"""REST API /api/v1 (Django Ninja): bearer tokens, every answer scoped to the user's orgs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import File, Form, NinjaAPI, Query, Schema, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as RequestInvalid
from ninja.files import UploadedFile
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer
from pydantic import BeforeValidator, Field, WithJsonSchema

from loanquality.accounts.actions import issue_token, revoke_tokens
from loanquality.accounts.authentication import LoginRefused, check_password_login
from loanquality.accounts.models import ApiToken
from loanquality.audit.selectors import filtered as audit_entries
from loanquality.common.dates import DAY_PATTERN, day_of
from loanquality.common.scope import lake, scope_of
from loanquality.engine.close import close_log, latest_close
from loanquality.engine.metrics import GROUPINGS
from loanquality.operations import actions
from loanquality.overrides import actions as overrides
from loanquality.overrides.models import Override
from loanquality.overrides.models import Status as OverrideStatus
from loanquality.portfolio import selectors
from loanquality.portfolio.access import access_loan


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        found = (
            ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(token)).first()
        )
        if found is None or not found.is_valid():
            return None
        request.user, request.api_token = found.user, found
        return found.user


MESSAGE = {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}}
# every operation may answer these, whatever it does: the schema says so for each
ALWAYS_ANSWERED = {
    400: {"description": "请求格式不符（缺项、类型、取值或日期）", "content": MESSAGE},
    401: {"description": "未提供有效令牌（或登录时用户名密码错误）", "content": MESSAGE},
    414: {"description": "请求行超过 8190 字节，服务器拒收（HTML）"},
}


class VendoredSwagger(Swagger):
    """Swagger UI from web/static/vendor/swagger-ui (npm, pinned, with its licence)."""

    template = "api_docs.html"


class LoanqualityApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        for item in schema["paths"].values():
            for operation in item.values():
                for status, answer in ALWAYS_ANSWERED.items():
                    operation["responses"].setdefault(status, answer)
        return schema


api = LoanqualityApi(
    title="loanquality API",
    version="1",
    description=(
        "信贷资产质量管理系统接口。先 POST /auth/token 取得令牌，"
        "再以 Authorization: Bearer <token> 调用。"
    ),
    auth=BearerToken(),
    urls_namespace="api",
    docs=VendoredSwagger(),
)


MAX_OFFSET = 1_000_000_000  # beyond any table here, and within a database integer


def _day(value):
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("日期应为 YYYY-MM-DD 格式的文本")
    return day_of(value)


Day = Annotated[
    dt.date,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
LoanKind = Literal[tuple(selectors.LOAN_FILTERS)]
OverdueBand = Literal[tuple(selectors.OVERDUE_BANDS)]
LoanSort = Literal[tuple(k for c in selectors.SORT_COLUMNS for k in (c, "-" + c))]
Grouping = Literal[tuple(GROUPINGS)]
OverrideState = Literal[tuple(OverrideStatus.values)]
FilledText = Annotated[str, Field(min_length=1, pattern=r"\S")]


class Message(Schema):
    detail: str


class Credentials(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str


class LoanRow(Schema):
    """A loan's codes each come with their Chinese name in the ``*_label`` beside them."""

    loan_id: str
    customer_id: str | None
    customer_name: str | None
    customer_type: str | None
    customer_type_label: str | None
    industry: str | None
    industry_label: str | None
    org_id: str | None
    org_label: str | None
    manager_id: str | None
    manager_label: str | None
    manager_b_id: str | None
    manager_b_label: str | None
    product: str | None
    guarantee_type: str | None
    balance: float
    maturity_date: dt.date | None
    overdue_days: int | None
    final_category: int
    final_category_label: str
    reasons: str | None
    reasons_label: str | None
    bank_category: int | None
    bank_category_label: str | None
    deviation: bool | None
    written_off: bool | None


class LoanList(Schema):
    as_of: dt.date | None
    total: int
    total_balance: float
    rows: list[LoanRow]


class LoanDetail(LoanRow):
    as_of: dt.date
    rule_category: int
    principal_overdue_days: int | None
    interest_overdue_days: int | None
    npl_cure_date: dt.date | None
    amount: float | None
    issue_date: dt.date | None
    extended_maturity_date: dt.date | None
    prior_loan_id: str | None
    history: list[dict]


class ImportOut(Schema):
    as_of: dt.date
    status: str
    rows: dict[str, int]
    problems: list[str]
    problem_total: int
    warnings: list[str] = []


@api.exception_handler(Http404)
def not_found(request, error):
    return api.create_response(request, {"detail": str(error) or "不存在"}, status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request, error):
    return api.create_response(request, {"detail": str(error) or "无权操作"}, status=403)


@api.exception_handler(ValidationError)
def invalid(request, error):
    return api.create_response(request, {"detail": "；".join(error.messages)}, status=400)


# what pydantic finds wrong with a parameter, in Chinese ({…} from the error's context)
REQUEST_PROBLEMS = {
    "missing": "缺少此项",
    "value_error": "{error}",
    "literal_error": "应为 {choices} 之一",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "不能为空白",
    "greater_than_equal": "不应小于 {ge}",
    "less_than_equal": "不应大于 {le}",
    "list_type": "应为列表",
    "dict_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "json_invalid": "不是有效的 JSON",
}
# ninja's own refusals, which it words in English
NINJA_REFUSALS = {
    "Unauthorized": "令牌无效或已过期，请先通过 /api/v1/auth/token 取得令牌",
    "Cannot parse request body": "请求体无法解析",
}


@api.exception_handler(RequestInvalid)
def malformed(request, error):
    """A request the schema refuses: 400, every problem named by its parameter."""
    return api.create_response(
        request, {"detail": "；".join(_problem(e) for e in error.errors)}, status=400
    )


def _problem(error: dict) -> str:
    names = [part for part in error["loc"] if isinstance(part, str)]  # no list positions
    where = "请求体" if names[0] == "body" and len(names) == 2 else names[-1]
    context = {**error.get("ctx", {})}
    context["choices"] = "、".join(re.findall(r"'([^']*)'", str(context.get("expected", ""))))
    text = REQUEST_PROBLEMS.get(error["type"], "取值无效").format(**context)
    return f"参数 {where}：{text}"


@api.exception_handler(HttpError)
def refused(request, error):
    detail = NINJA_REFUSALS.get(str(error), str(error))
    return api.create_response(request, {"detail": detail}, status=error.status_code)


@api.post("/auth/token", auth=None, response={200: TokenOut, 401: Message}, tags=["auth"])
def token(request, credentials: Credentials):
    """Exchange a username and password for a bearer token (30 days)."""
    try:
        user = check_password_login(request, credentials.username, credentials.password)
    except LoginRefused as refused:
        return Status(401, {"detail": refused.message})
    return Status(200, {"token": issue_token(user)})


@api.post("/auth/logout", response={204: None}, tags=["auth"])
def logout(request):
    """End the token this call is made with; the user's other tokens stay valid."""
    revoke_tokens(request.user, why="logout", token_id=request.api_token.pk)
    return Status(204, None)


def _closed(as_of: dt.date | None) -> dt.date | None:
    if as_of is None:
        return selectors.latest_close()
    if as_of not in selectors.closed_dates():
        raise Http404("该报告日尚未结账")
    return as_of


@api.get("/loans", response={200: LoanList, 404: Message}, tags=["loans"])
def list_loans(
    request,
    as_of: Day | None = None,
    q: str = "",
    kind: LoanKind = "all",
    org: str | None = None,
    manager: str | None = None,
    product: str | None = None,
    category: int | None = Query(None, ge=1, le=5),
    overdue: OverdueBand | None = None,
    guarantee: str | None = None,
    sort: LoanSort = selectors.DEFAULT_SORT,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
):
    """Classified loans of a close in the user's orgs, as the 贷款清单 page filters and sorts
    them; ``q`` matches a loan id, customer id or part of a name; ``kind`` is one of all,
    npl, special_mention, overdue, overdue90, hidden; ``org`` takes its subtree (404 outside
    the user's), ``manager`` the 管户 staff id, ``overdue`` an overdue-days band."""
    as_of = _closed(as_of)
    if as_of is None:
        return {"as_of": None, "total": 0, "total_balance": 0.0, "rows": []}
    scope = scope_of(request.user)
    if org and not scope.covers(org):
        raise Http404("不在您的机构范围内")
    filters = selectors.LoanFilter(
        kind=kind,
        org=org,
        manager=manager,
        product=product,
        category=category,
        overdue=overdue,
        guarantee=guarantee,
        query=q,
    )
    page = selectors.loans(scope, as_of, filters, sort=sort, limit=limit, offset=offset)
    return {
        "as_of": as_of,
        "total": page.total,
        "total_balance": page.total_balance,
        "rows": page.rows,
    }


@api.get("/loans/{loan_id}", response={200: LoanDetail, 404: Message}, tags=["loans"])
def get_loan(request, loan_id: str, as_of: Day | None = None):
    """One loan as at ``as_of`` (default: its latest close), with its category at every close."""
    history = access_loan(scope_of(request.user), loan_id, as_of)
    latest = history[-1]
    return {
        **latest,
        "history": [
            {
                "as_of": h["as_of"],
                "balance": h["balance"],
                "overdue_days": h["overdue_days"],
                "final_category": h["final_category"],
                "final_category_label": h["final_category_label"],
                "reasons": h["reasons"],
                "reasons_label": h["reasons_label"],
            }
            for h in history
        ],
    }


@api.get("/indicators", response={200: dict, 404: Message}, tags=["indicators"])
def indicators(request, as_of: Day | None = None, by: list[Grouping] = Query(["total"])):
    """The metric catalogue per grouping, as ``loanquality indicators`` writes it (rates as
    fractions). A user below the head office gets the org and officer rows of their subtree."""
    as_of = _closed(as_of)
    if as_of is None:
        raise Http404("尚未结账")
    scope = scope_of(request.user)
    entry = latest_close(lake(), as_of) or {}
    rows = []
    for grouping in dict.fromkeys(by):
        if grouping == "total":
            group_by, key = selectors.scope_key(scope)
            found = selectors.metric_rows(as_of, group_by, [key])
            rows += (
                [{**r, "group_by": "total", "key": "total"} for r in found]
                if scope.bank_wide
                else found
            )
        else:
            rows += selectors.scoped_metric_rows(scope, as_of, grouping)
    return {
        "as_of": as_of.isoformat(),
        "previous_as_of": entry.get("previous_as_of"),
        "ruleset": entry.get("ruleset"),
        "ruleset_sha256": entry.get("ruleset_sha256"),
        "rows": [_clean(r) for r in rows],
    }


def _clean(row: dict) -> dict:
    return {
        k: (None if isinstance(v, float) and v != v else v)
        for k, v in row.items()
        if not k.startswith("part_")
    }


class CloseOut(Schema):
    """A close published: what, when, against which earlier closes, under which rules; and,
    for those who run closes, who ran it how (null for everyone else)."""

    close_id: str | None = None
    as_of: dt.date
    previous_as_of: dt.date | None = None
    base_as_of: dt.date | None = None
    ruleset: str | None = None
    ruleset_sha256: str | None = None
    at: dt.datetime | None = None
    user: str | None = None
    engine: str | None = None
    rows: dict[str, int] | None = None
    overrides: int | None = None
    seconds: float | None = None
    replaced: list[str] | None = None


CLOSE_FOR_EVERYONE = (
    "close_id",
    "as_of",
    "previous_as_of",
    "base_as_of",
    "ruleset",
    "ruleset_sha256",
    "at",
)


@api.get("/closes", response=list[CloseOut], tags=["closes"])
def closes(request):
    """Every close run recorded, newest first. Who ran it, on which engine, the whole bank's
    row counts, the 认定 applied and its duration only for users who may run closes."""
    entries = close_log(lake())[::-1]
    if actions.operations_refusal(request.user) is None:
        return entries
    return [{k: e.get(k) for k in CLOSE_FOR_EVERYONE} for e in entries]


@api.post(
    "/imports", response={200: ImportOut, 400: ImportOut | Message, 403: Message}, tags=["imports"]
)
def create_import(
    request,
    as_of: Day = Form(...),
    loans: UploadedFile = File(...),
    orgs: UploadedFile | None = File(None),
    staff: UploadedFile | None = File(None),
    schedules: UploadedFile | None = File(None),
    repayments: UploadedFile | None = File(None),
    customers: UploadedFile | None = File(None),
    collateral: UploadedFile | None = File(None),
    guarantees: UploadedFile | None = File(None),
    bureau: UploadedFile | None = File(None),
    provisions: UploadedFile | None = File(None),
    capital: UploadedFile | None = File(None),
    replace_smaller: bool = Form(False),
):
    """Validate and publish one as-of date's files (multipart). 400 lists every problem in
    Chinese and nothing is written; a ledger with far fewer loans than the date's needs
    ``replace_smaller``. Only the legal entity's credit department or an administrator
    may import (403 otherwise)."""
    given = {
        "loans": loans,
        "orgs": orgs,
        "staff": staff,
        "schedules": schedules,
        "repayments": repayments,
        "customers": customers,
        "collateral": collateral,
        "guarantees": guarantees,
        "bureau": bureau,
        "provisions": provisions,
        "capital": capital,
    }
    run = actions.import_uploads(
        request.user,
        as_of,
        {k: v for k, v in given.items() if v},
        replace_smaller=replace_smaller,
    )
    body = {
        "as_of": run.as_of,
        "status": run.status,
        "rows": run.rows,
        "problems": run.problems,
        "problem_total": run.problem_total,
        "warnings": run.warnings,
    }
    return Status(400 if run.problems else 200, body)


class OverrideIn(Schema):
    loan_id: str
    as_of: Day
    category: int = Field(ge=1, le=5, description="1 正常、2 关注、3 次级、4 可疑、5 损失")
    reason: FilledText


class OverrideId(Schema):
    id: int


class Decision(Schema):
    comment: str = ""


class Rejection(Schema):
    comment: FilledText  # a rejection says why


class OverrideOut(Schema):
    id: int
    loan_id: str
    as_of: dt.date
    org_id: str
    balance: float
    rule_category: int
    category_before: int
    category: int
    reason: str
    status: str
    needs_director: bool
    maker: str
    created_at: dt.datetime
    checker: str | None
    decided_at: dt.datetime | None
    comment: str


def _override_out(o) -> dict:
    return {
        "id": o.pk,
        "loan_id": o.loan_id,
        "as_of": o.as_of,
        "org_id": o.org_id,
        "balance": float(o.balance),
        "rule_category": o.rule_category,
        "category_before": o.category_before,
        "category": o.category,
        "reason": o.reason,
        "status": o.status,
        "needs_director": o.needs_director,
        "maker": o.maker.username,
        "created_at": o.created_at,
        "checker": o.checker.username if o.checker else None,
        "decided_at": o.decided_at,
        "comment": o.comment,
    }


OVERRIDE_ERRORS = {400: Message, 403: Message, 404: Message}


@api.post("/overrides", response={200: OverrideId, **OVERRIDE_ERRORS}, tags=["overrides"])
def propose_override(request, proposal: OverrideIn):
    """Propose a category (1–5) for a loan at the latest close; a checker decides it."""
    override = overrides.propose(
        request.user, proposal.loan_id, proposal.as_of, proposal.category, proposal.reason
    )
    return {"id": override.pk}


@api.get("/overrides", response=list[OverrideOut], tags=["overrides"])
def list_overrides(
    request,
    status: OverrideState | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
):
    """认定 of the user's orgs, newest first; ``status`` is pending, approved, rejected or
    withdrawn."""
    found = Override.objects.in_scope(scope_of(request.user)).select_related("maker", "checker")
    if status:
        found = found.filter(status=status)
    return [_override_out(o) for o in found[offset : offset + limit]]


def _decision_endpoint(step, verb: str, body: type[Schema]):
    def decide(request, override_id: int, decision):
        return _override_out(step(request.user, override_id, decision.comment))

    decide.__annotations__ = {"override_id": int, "decision": body}
    decide.__name__ = f"{verb}_override"
    decide.__doc__ = f"{verb.capitalize()} a pending 认定."
    api.post(
        f"/overrides/{{override_id}}/{verb}",
        response={200: OverrideOut, **OVERRIDE_ERRORS},
        tags=["overrides"],
    )(decide)


for _step, _verb, _body in (
    (overrides.approve, "approve", Decision),
    (overrides.reject, "reject", Rejection),
    (overrides.withdraw, "withdraw", Decision),
):
    _decision_endpoint(_step, _verb, _body)


class AuditOut(Schema):
    seq: int
    at: dt.datetime
    username: str
    action: str
    target: str
    org_id: str
    detail: dict
    hash: str


@api.get("/audit", response={200: list[AuditOut], 403: Message}, tags=["audit"])
def audit(
    request,
    object: str = "",
    user: str = "",
    action: str = "",
    from_: Day | None = Query(None, alias="from"),
    to: Day | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
):
    """Audit rows of the user's orgs, newest first; ``object`` is a loan id or other object
    key, ``from`` and ``to`` are dates (inclusive)."""
    entries = audit_entries(
        request.user, object=object, username=user, action=action, start=from_, end=to
    )
    return list(entries[offset : offset + limit])
