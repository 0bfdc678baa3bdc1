"""Starting Django from the CLI: settings for a data directory, migrations, start-up checks."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

# the data dir holds the bank's loans, its users and the audit log: files 0600, folders 0700
PRIVATE_UMASK = 0o077


def keep_files_private() -> None:
    """Every file and folder this process creates from now on is its user's alone."""
    os.umask(PRIVATE_UMASK)


def setup_django(data_dir: Path) -> None:
    """Point the settings at ``data_dir`` and start Django (before any model import)."""
    os.environ["LOANQUALITY_DATA_DIR"] = str(Path(data_dir).resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loanquality.web.settings")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def open_database(data_dir: Path) -> None:
    """Start Django on ``data_dir`` and bring its database up to date (every CLI command
    that touches users or the audit log starts here)."""
    setup_django(data_dir)
    Path(data_dir).mkdir(parents=True, exist_ok=True)  # the SQLite file's folder
    migrate()
    _make_private(Path(data_dir))
    _keep_secret_key()


def _keep_secret_key() -> None:
    """The key this process started with on a data dir not made then, kept in the data dir
    now that it exists, so that the server's workers and every later process sign alike."""
    from django.conf import settings

    path = settings.SECRET_KEY_FILE
    if not os.environ.get("SECRET_KEY") and not path.exists():
        path.write_text(settings.SECRET_KEY, encoding="utf-8")
        path.chmod(0o600)


def check_startup() -> None:
    """Run each installed app's ``check_startup`` (an AppConfig method raising
    ``Misconfigured``), so that a server or command refuses to start on a setting it
    cannot run with instead of failing at the first request that needs it."""
    from django.apps import apps

    for config in apps.get_app_configs():
        if check := getattr(config, "check_startup", None):
            check()


def after_close(as_of: dt.date, actor, *, closed_on: dt.date | None = None) -> list[str]:
    """Run each installed app's ``after_close(as_of, actor, closed_on=…)`` once a close of
    ``as_of`` is published (the web's, the command line's, the demo's; ``actor`` a User or
    an ``Operator``; ``closed_on`` the day it counts as run, None for today). The close
    stands whatever a hook does: a hook that fails is logged and the others still run
    (each app catches up at its next read, e.g. the warnings' ``ensure_synced``).
    Returns the names of the apps whose hook failed."""
    from django.apps import apps

    failed = []
    for config in apps.get_app_configs():
        if hook := getattr(config, "after_close", None):
            try:
                hook(as_of, actor, closed_on=closed_on)
            except Exception:
                log.exception("after-close hook of %s failed for %s", config.name, as_of)
                failed.append(config.name)
    return failed


def _make_private(data_dir: Path) -> None:
    """Close what an older version left open: the data dir (shutting out everything in it)
    and the SQLite file."""
    from django.conf import settings

    data_dir.chmod(0o700)
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and Path(database["NAME"]).exists():
        Path(database["NAME"]).chmod(0o600)
