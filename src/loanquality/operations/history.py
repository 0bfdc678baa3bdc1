"""The import and close history pages list every import and close, whoever ran it.

What was published is read from the lake's own logs (``import_log.jsonl``,
``close_log.jsonl``), which the engine writes for every run: the web's, the API's, the
command line's and the demo's alike, and runs from before the web recorded anything.
Only what never reached the lake comes from the web's run rows: rejected imports, and
closes running or failed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings

from loanquality.engine.lake import Lake
from loanquality.engine.schema import TABLES
from loanquality.operations.models import CloseRun, ImportRun, Status

SHOWN = 20


@dataclass(frozen=True)
class ImportRow:
    at: dt.datetime
    as_of: dt.date
    user: str
    status: str
    files: list[str]
    problem_total: int = 0


@dataclass(frozen=True)
class CloseRow:
    """A published close (``run`` None) or a web close not done (``run`` its row)."""

    at: dt.datetime
    as_of: dt.date | None = None
    user: str = ""
    loans: int = 0
    seconds: float | None = None
    engine: str = ""
    run: CloseRun | None = field(default=None, compare=False)


def import_history(limit: int = SHOWN) -> list[ImportRow]:
    published = [_published_import(e) for e in Lake(settings.DATA_DIR).import_log()]
    rejected = [
        ImportRow(
            run.started_at,
            run.as_of,
            run.user.username,
            run.get_status_display(),
            list(run.files.values()),
            run.problem_total,
        )
        for run in ImportRun.objects.exclude(status=Status.DONE).select_related("user")[:limit]
    ]
    return _newest(published + rejected, limit)


def close_history(limit: int = SHOWN) -> list[CloseRow]:
    published = [_published_close(e) for e in Lake(settings.DATA_DIR).close_log()]
    unfinished = [
        CloseRow(run.started_at, run=run)
        for run in CloseRun.objects.exclude(status=Status.DONE).select_related("user")[:limit]
    ]
    return _newest(published + unfinished, limit)


def _published_import(entry: dict) -> ImportRow:
    return ImportRow(
        dt.datetime.fromisoformat(entry["at"]),
        dt.date.fromisoformat(entry["as_of"]),
        entry.get("user", ""),
        Status.DONE.label,
        [f"{TABLES[f['table']].label}：{f['name']}" for f in entry.get("files", [])],
    )


def _published_close(entry: dict) -> CloseRow:
    return CloseRow(
        dt.datetime.fromisoformat(entry["at"]),
        dt.date.fromisoformat(entry["as_of"]),
        entry.get("user", ""),
        (entry.get("rows") or {}).get("classified", 0),
        entry.get("seconds"),
        entry.get("engine", ""),
    )


def _newest(rows: list, limit: int) -> list:
    return sorted(rows, key=lambda row: row.at, reverse=True)[:limit]
