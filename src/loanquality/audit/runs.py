"""Who runs an import or close from the command line: the OS user, as the engine's logs
name them (the row itself is written by ``operations.actions``, for the web, the command
line and the demo alike)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

SYSTEM = "system"


@dataclass(frozen=True)
class Operator:
    """Who acts from outside the web: a name (the OS user, or ``demo``) and the way in
    (``cli``, ``demo``). Whoever can run the command has the data dir's files: no role is
    checked. The web's actions take its User instead; ``audit.actions.record`` takes
    either as ``user`` (an Operator's row carries its name and ``via``)."""

    username: str
    via: str = "cli"


def cli_operator() -> Operator:
    """The OS user running this command."""
    return Operator(os_user(), via="cli")


def os_user() -> str:
    """Who runs this process; ``system`` when the OS cannot tell (a service without a
    passwd entry)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return SYSTEM
