"""The 认定 workflow: propose (one loan, or a batch from Excel), approve, reject, withdraw.

Every step writes an audit row in the same transaction. An approval rewrites the approved
认定 the engine reads (``overrides.parquet``) and closes the date again, so the loan page
and that date's indicators show it at once; later closes keep applying it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from loanquality.audit.actions import record
from loanquality.engine import overrides as engine_overrides
from loanquality.engine.ingest import read_input
from loanquality.engine.problems import InputRejected, Problem
from loanquality.engine.rules import load_ruleset
from loanquality.engine.schema import CATEGORY_LABELS
from loanquality.operations.actions import start_reclose
from loanquality.overrides.authority import (
    check_may_decide,
    check_may_propose,
    director_threshold,
)
from loanquality.overrides.models import Evidence, Override, Status
from loanquality.portfolio import selectors
from loanquality.portfolio.access import access_loan
from loanquality.portfolio.scope import Scope, scope_of


def label(category: int) -> str:
    return CATEGORY_LABELS.get(category, str(category))


def overrides_in_scope(scope: Scope):
    return Override.objects.filter(org_id__in=scope.orgs)


def get_override(user, pk: int) -> Override:
    """The proposal if its loan is in the user's subtree; 404 otherwise."""
    found = overrides_in_scope(scope_of(user)).filter(pk=pk).first()
    if found is None:
        raise Http404("没有这笔认定，或不在您的机构范围内")
    return found


def check_proposal(user, loan_id: str, as_of: dt.date, category: int, reason: str) -> dict:
    """Every check of a proposal, without writing anything; returns the loan as closed.
    Raises Http404 (not in the user's subtree), PermissionDenied or ValidationError."""
    latest = selectors.latest_close()
    if as_of != latest:
        raise ValidationError(f"只能对最近一次结账（{latest}）的分类进行认定")
    history = access_loan(scope_of(user), loan_id, as_of)
    loan = history[-1]
    if loan["as_of"] != as_of:
        raise ValidationError(f"该贷款不在 {as_of} 的台账中")
    check_may_propose(user, loan)
    if category not in CATEGORY_LABELS:
        raise ValidationError("认定分类应为 1–5（正常、关注、次级、可疑、损失）")
    if not reason.strip():
        raise ValidationError("请填写认定理由")
    if loan.get("written_off") or not loan["balance"] > 0:
        raise ValidationError("已核销或已结清的贷款不需要认定")
    if category == loan["final_category"]:
        raise ValidationError(f"该贷款当前已是{label(category)}，无需认定")
    if category < loan["rule_category"] and not loan.get("upgrade_allowed"):
        raise ValidationError(_upgrade_refusal(loan, category))
    if Override.objects.filter(loan_id=loan_id, as_of=as_of, status=Status.PENDING).exists():
        raise ValidationError("该贷款已有待审批的认定，请先审批或撤回")
    return loan


def _upgrade_refusal(loan: dict, category: int) -> str:
    p = load_ruleset().parameters
    return (
        f"不能认定为{label(category)}：规则分类为{label(loan['rule_category'])}"
        f"（依据 {loan['reasons'] or '—'}），优于规则分类的认定须满足不良贷款上调条件"
        f"（UPG：已还清拖欠本息，此后正常还款满 {p['cure_installments']} 期且不少于"
        f" {p['cure_months']} 个月），该贷款尚未满足，结账时不会采纳"
    )


@transaction.atomic
def propose(
    user,
    loan_id: str,
    as_of: dt.date,
    category: int,
    reason: str,
    evidence: list | None = None,
    *,
    batch: str = "",
) -> Override:
    loan = check_proposal(user, loan_id, as_of, category, reason)
    balance = Decimal(str(loan["balance"])).quantize(Decimal("0.01"))
    override = Override.objects.create(
        loan_id=loan_id,
        as_of=as_of,
        org_id=loan["org_id"],
        customer_name=loan.get("customer_name") or "",
        balance=balance,
        rule_category=loan["rule_category"],
        rule_reasons=loan["reasons"] or "",
        category_before=loan["final_category"],
        category=category,
        reason=reason.strip(),
        needs_director=balance > director_threshold(),
        maker=user,
        batch=batch,
    )
    files = [_keep_evidence(override, upload) for upload in evidence or []]
    record(
        "override.propose",
        user=user,
        target=loan_id,
        org_id=override.org_id,
        override=override.pk,
        as_of=as_of,
        reason=override.reason,
        evidence=files,
        before={"category": override.category_before},
        after={"category": category, "status": Status.PENDING},
    )
    return override


def _keep_evidence(override: Override, upload) -> str:
    if upload.size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationError(f"证明材料 {upload.name} 超过 10 MB")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    evidence = Evidence(
        override=override,
        name=Path(upload.name).name[:200],
        sha256=digest.hexdigest(),
        size=upload.size,
    )
    path = evidence.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    evidence.save()
    return evidence.name


def approve(user, pk: int, comment: str = "") -> Override:
    override = _decide(user, pk, Status.APPROVED, comment)
    publish_approved()
    start_reclose(user, override.as_of, cause=f"认定#{override.pk} 生效")
    return override


def reject(user, pk: int, comment: str = "") -> Override:
    if not comment.strip():
        raise ValidationError("退回时请填写审批意见")
    return _decide(user, pk, Status.REJECTED, comment)


@transaction.atomic
def withdraw(user, pk: int, comment: str = "") -> Override:
    override = _pending(user, pk)
    if override.maker_id != user.pk:
        raise PermissionDenied("只有发起人可以撤回认定")
    override.status, override.decided_at = Status.WITHDRAWN, timezone.now()
    override.comment = comment.strip()
    override.save(update_fields=["status", "decided_at", "comment"])
    _record_decision(user, override, "override.withdraw")
    return override


@transaction.atomic
def _decide(user, pk: int, status: str, comment: str) -> Override:
    override = _pending(user, pk)
    check_may_decide(user, override)
    override.status, override.checker = status, user
    override.decided_at, override.comment = timezone.now(), comment.strip()
    override.save(update_fields=["status", "checker", "decided_at", "comment"])
    action = "override.approve" if status == Status.APPROVED else "override.reject"
    _record_decision(user, override, action)
    return override


def _pending(user, pk: int) -> Override:
    override = get_override(user, pk)
    override = Override.objects.select_for_update().get(pk=override.pk)
    if override.status != Status.PENDING:
        raise ValidationError(f"该认定{override.get_status_display()}，不能再处理")
    return override


def _record_decision(user, override: Override, action: str) -> None:
    approved = override.status == Status.APPROVED
    record(
        action,
        user=user,
        target=override.loan_id,
        org_id=override.org_id,
        override=override.pk,
        as_of=override.as_of,
        comment=override.comment,
        before={"category": override.category_before, "status": Status.PENDING},
        after={
            "category": override.category if approved else override.category_before,
            "status": override.status,
        },
    )


def publish_approved() -> None:
    """Rewrite the approved 认定 the engine reads (every one: closes pick what is in force)."""
    approved = Override.objects.filter(status=Status.APPROVED).order_by("pk")
    engine_overrides.write_approved(
        settings.DATA_DIR,
        [
            {
                "override_id": str(o.pk),
                "loan_id": o.loan_id,
                "as_of": o.as_of,
                "category": o.category,
                "approved_at": o.decided_at,
            }
            for o in approved
        ],
    )


@dataclass
class BatchResult:
    created: list[Override]
    problems: list[Problem]
    total: int


def propose_batch(user, as_of: dt.date, path: Path, name: str) -> BatchResult:
    """One proposal per row of an Excel (or CSV) sheet with 借据号, 认定分类, 认定理由.
    Every row goes through the checks of a single proposal; if any row fails, none is
    created and the result lists every failing row."""
    try:
        rows = read_input(path, "overrides").data.to_pylist()
    except InputRejected as rejected:
        return BatchResult([], rejected.problems, rejected.total)
    problems = []
    seen: set[str] = set()
    for row in rows:
        try:
            if row["loan_id"] in seen:
                raise ValidationError("同一借据在表中出现多次")
            seen.add(row["loan_id"])
            check_proposal(user, row["loan_id"], as_of, row["category"], row["reason"] or "")
        except (ValidationError, PermissionDenied, Http404) as error:
            message = (
                "；".join(error.messages) if isinstance(error, ValidationError) else str(error)
            )
            problems.append(
                Problem(name, row["_line"], "loan_id", "借据号", row["loan_id"], message, message)
            )
    if problems:
        return BatchResult([], problems, len(problems))
    with transaction.atomic():
        created = [
            propose(user, r["loan_id"], as_of, r["category"], r["reason"], batch=name) for r in rows
        ]
    return BatchResult(created, [], 0)
