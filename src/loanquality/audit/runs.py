"""Audit rows for imports and closes the engine ran outside the web: from the command line
and in the demo. The engine never imports Django, so its caller writes the row once the
engine's call has returned (the web's own runs are recorded in operations/actions.py)."""

from __future__ import annotations

import getpass

from loanquality.audit.actions import record
from loanquality.common.scope import org_tree

SYSTEM = "system"


def os_user() -> str:
    """Who runs this process, as the engine's logs name them; ``system`` when the OS
    cannot tell (a service without a passwd entry)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return SYSTEM


def record_import(result, *, username: str, via: str):
    """``result``: the engine's ImportResult."""
    return record(
        "import",
        username=username,
        target=str(result.as_of),
        org_id=_bank(),
        via=via,
        import_id=result.import_id,
        rows=result.rows,
    )


def record_close(result, *, username: str, via: str):
    """``result``: the engine's CloseResult."""
    return record(
        "close",
        username=username,
        target=str(result.as_of),
        org_id=_bank(),
        via=via,
        close_id=result.close_id,
        rows=result.rows,
        engine=result.engine,
        seconds=result.seconds,
    )


def _bank() -> str:
    """The legal entity (the org tree's root): an import or close is the whole bank's."""
    return org_tree().root or ""
