"""REST API /api/v1 (Django Ninja): bearer tokens, every answer scoped to the user's orgs.

This module holds what every endpoint shares: the token check, the errors in Chinese and
the schema's always-declared answers. Each app's endpoints live in its own ``api.py``
(``router``), mounted below with one line each; what their schemas share is in
``loanquality.api.schemas``.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as RequestInvalid
from ninja.openapi.docs import Swagger
from ninja.security import HttpBearer

from loanquality.accounts import api as accounts
from loanquality.accounts.models import ApiToken
from loanquality.audit import api as audit
from loanquality.operations import api as operations
from loanquality.overrides import api as overrides
from loanquality.portfolio import api as portfolio
from loanquality.warnings import api as warnings


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
    def get_openapi_operation_id(self, operation) -> str:
        """The ids clients were generated against when every endpoint was in this module
        (ninja would name them after each app's module now), so an endpoint's function name
        must be unique across the routers (tests/web/test_api_routers.py checks)."""
        return f"loanquality_api_api_{operation.view_func.__name__}"

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


# every app's endpoints, mounted under its prefix: a new app adds one line
ROUTERS = (
    ("/auth", accounts.router),
    ("", portfolio.router),
    ("", operations.router),
    ("/overrides", overrides.router),
    ("/audit", audit.router),
    ("/signals", warnings.signals_router),
    ("/warnings", warnings.router),
)
for _prefix, _router in ROUTERS:
    api.add_router(_prefix, _router)
