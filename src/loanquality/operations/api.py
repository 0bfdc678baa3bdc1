"""API of operations: the close log, and an import of one as-of date's files."""

from __future__ import annotations

import datetime as dt

from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from loanquality.api.schemas import Day, Message
from loanquality.common.scope import lake
from loanquality.engine.close import close_log
from loanquality.engine.schema import IMPORT_TABLES
from loanquality.operations import actions

router = Router()


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


# what every user sees of a close: the bank-wide facts every page needs, nothing of an org
CLOSE_FOR_EVERYONE = (
    "close_id",
    "as_of",
    "previous_as_of",
    "base_as_of",
    "ruleset",
    "ruleset_sha256",
    "at",
)


class ImportOut(Schema):
    as_of: dt.date
    status: str
    rows: dict[str, int]
    problems: list[str]
    problem_total: int
    warnings: list[str] = []


@router.get("/closes", response=list[CloseOut], tags=["closes"])
def closes(request):
    """Every close run recorded, newest first. Who ran it, on which engine, the whole bank's
    row counts, the 认定 applied and its duration only for users who may run closes."""
    entries = close_log(lake())[::-1]
    if actions.operations_refusal(request.user) is None:
        return entries
    return [{k: e.get(k) for k in CLOSE_FOR_EVERYONE} for e in entries]


@router.post(
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
    # one parameter per table above, for the schema; the files as the request holds them
    given = {table: request.FILES.get(table) for table in IMPORT_TABLES}
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
