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

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from loanquality.audit.actions import record
from loanquality.common.scope import scope_of
from loanquality.common.uploads import file_name, read_upload
from loanquality.engine.problems import InputRejected, Problem
from loanquality.engine.rules import load_ruleset
from loanquality.engine.schema import CATEGORY_LABELS, OVERRIDES
from loanquality.operations.actions import start_reclose
from loanquality.overrides import outbox
from loanquality.overrides.authority import (
    check_may_decide,
    check_may_propose,
    director_threshold,
)
from loanquality.overrides.models import Evidence, Override, Status
from loanquality.overrides.selectors import get_override
from loanquality.portfolio import selectors
from loanquality.portfolio.access import NOT_FOUND, access_loan, access_loans_at


def label(category: int) -> str:
    return CATEGORY_LABELS.get(category, str(category))


def clean_text(text: str | None) -> str:
    """Free text as stored: trimmed, without NUL (PostgreSQL refuses it)."""
    return (text or "").replace("\x00", "").strip()


def check_proposal(
    user, loan_id: str, as_of: dt.date, category: int, reason: str, loan: dict | None = None
) -> dict:
    """Every check of a proposal, without writing anything; returns the loan as closed
    (``loan``, when the caller has already read it within the user's scope).
    Raises Http404 (not in the user's subtree), PermissionDenied or ValidationError."""
    latest = selectors.latest_close()
    if as_of != latest:
        raise ValidationError(f"只能对最近一次结账（{latest}）的分类进行认定")
    if loan is None:
        loan = access_loan(scope_of(user), loan_id, as_of)[-1]
    if loan["as_of"] != as_of:
        raise ValidationError(f"该贷款不在 {as_of} 的台账中")
    check_may_propose(user, loan)
    if category not in CATEGORY_LABELS:
        raise ValidationError("认定分类应为 1–5（正常、关注、次级、可疑、损失）")
    if not clean_text(reason):
        raise ValidationError("请填写认定理由")
    if loan.get("written_off") or not loan["balance"] > 0:
        raise ValidationError("已核销或已结清的贷款不需要认定")
    if category == loan["final_category"]:
        raise ValidationError(f"该贷款当前已是{label(category)}，无需认定")
    if category < loan["rule_category"] and not loan.get("upgrade_allowed"):
        raise ValidationError(_upgrade_refusal(loan, category))
    if Override.objects.filter(loan_id=loan_id, status=Status.PENDING).exists():
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


def propose(
    user,
    loan_id: str,
    as_of: dt.date,
    category: int,
    reason: str,
    evidence: list | None = None,
) -> Override:
    loan = check_proposal(user, loan_id, as_of, category, reason)
    for upload in evidence or []:
        if upload.size > settings.EVIDENCE_MAX_BYTES:
            raise ValidationError(f"证明材料 {upload.name} 超过 10 MB")
    return _create(user, loan, as_of, category, reason, evidence or [])


@transaction.atomic
def _create(user, loan: dict, as_of, category: int, reason: str, evidence, batch="") -> Override:
    """Write a checked proposal, its evidence and its audit row."""
    balance = Decimal(str(loan["balance"])).quantize(Decimal("0.01"))
    try:
        with transaction.atomic():
            override = Override.objects.create(
                loan_id=loan["loan_id"],
                as_of=as_of,
                org_id=loan["org_id"],
                customer_name=loan.get("customer_name") or "",
                balance=balance,
                rule_category=loan["rule_category"],
                rule_reasons=loan["reasons"] or "",
                category_before=loan["final_category"],
                category=category,
                reason=clean_text(reason),
                needs_director=balance > director_threshold(),
                maker=user,
                batch=batch,
            )
    except IntegrityError:  # another proposal for the loan arrived meanwhile
        raise ValidationError("该贷款已有待审批的认定，请先审批或撤回") from None
    files = [_keep_evidence(override, upload) for upload in evidence]
    record(
        "override.propose",
        user=user,
        target=override.loan_id,
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
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    evidence = Evidence(
        override=override,
        name=file_name(upload, "证明材料")[:200],
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
    """Approve, then close the date (and any later closed date) again, which publishes the
    approved 认定 first. A 认定 for an earlier date than the latest close applies from
    that date on, unless the loan has one for a later date.

    The decision, its audit row and its outbox row commit together. Should the close not
    finish (the publish fails, the process dies), the approval stands and its outbox row
    stays pending: the next close, or the server's next start, applies it
    (``operations.actions.approvals_to_apply``)."""
    with transaction.atomic():
        override = _decide(user, pk, Status.APPROVED, comment)
        outbox.add(override)
    start_reclose(user, override.as_of, cause=f"认定#{override.pk} 生效")
    return override


def reject(user, pk: int, comment: str = "") -> Override:
    if not clean_text(comment):
        raise ValidationError("退回时请填写审批意见")
    return _decide(user, pk, Status.REJECTED, comment)


@transaction.atomic
def withdraw(user, pk: int, comment: str = "") -> Override:
    override = _pending(user, pk)
    if override.maker_id != user.pk:
        raise PermissionDenied("只有发起人可以撤回认定")
    override.status, override.decided_at = Status.WITHDRAWN, timezone.now()
    override.comment = clean_text(comment)
    override.save(update_fields=["status", "decided_at", "comment"])
    _record_decision(user, override, "override.withdraw")
    return override


@transaction.atomic
def _decide(user, pk: int, status: str, comment: str) -> Override:
    override = _pending(user, pk)
    access_loan(scope_of(user), override.loan_id)  # where the loan is now, should it have moved
    check_may_decide(user, override)
    override.status, override.checker = status, user
    override.decided_at, override.comment = timezone.now(), clean_text(comment)
    override.save(update_fields=["status", "checker", "decided_at", "comment"])
    action = "override.approve" if status == Status.APPROVED else "override.reject"
    _record_decision(user, override, action)
    return override


def _pending(user, pk: int) -> Override:
    override = get_override(user, pk)
    override = Override.objects.select_for_update().get(pk=override.pk)  # locked till commit
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


@dataclass
class BatchResult:
    created: list[Override]
    problems: list[Problem]
    total: int

    @property
    def chinese_problems(self) -> list[str]:
        return [p.chinese_text() for p in self.problems]


def propose_batch(user, as_of: dt.date, upload) -> BatchResult:
    """One proposal per row of an uploaded Excel (or CSV) sheet with 借据号, 认定分类,
    认定理由. Every row goes through the checks of a single proposal; if any row fails,
    none is created and the result lists every failing row."""
    name = file_name(upload, "认定清单.xlsx")
    try:
        rows = read_upload(upload, OVERRIDES, name).data.to_pylist()
    except InputRejected as rejected:
        return BatchResult([], rejected.problems, rejected.total)
    found = access_loans_at(scope_of(user), as_of, [r["loan_id"] for r in rows])
    problems, checked = [], []
    for row in rows:  # a loan twice in the sheet was refused by read_upload
        try:
            if row["loan_id"] not in found:
                raise Http404(NOT_FOUND)
            loan = check_proposal(
                user, row["loan_id"], as_of, row["category"], row["reason"], found[row["loan_id"]]
            )
            checked.append((loan, row))
        except (ValidationError, PermissionDenied, Http404) as error:
            message = (
                "；".join(error.messages) if isinstance(error, ValidationError) else str(error)
            )
            problems.append(
                Problem(name, row["_line"], "loan_id", "借据号", row["loan_id"], message, message)
            )
    if problems:
        return BatchResult([], problems, len(problems))
    try:
        with transaction.atomic():
            created = [
                _create(user, loan, as_of, r["category"], r["reason"], [], batch=name)
                for loan, r in checked
            ]
    except ValidationError as error:  # a proposal for one of the loans arrived meanwhile
        message = "；".join(error.messages)
        return BatchResult([], [Problem(name, None, None, None, None, message, message)], 1)
    return BatchResult(created, [], 0)
