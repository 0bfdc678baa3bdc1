"""Who runs an import or close from the command line: the OS user, as the engine's logs
name them (the row itself is written by ``operations.actions``, for the web, the command
line and the demo alike)."""

from __future__ import annotations

import getpass

SYSTEM = "system"


def os_user() -> str:
    """Who runs this process; ``system`` when the OS cannot tell (a service without a
    passwd entry)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return SYSTEM
