"""Starting Django from the CLI: settings for a data directory, migrations, the server."""

from __future__ import annotations

import os
from pathlib import Path

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
    migrate()
    _make_private(Path(data_dir))


def _make_private(data_dir: Path) -> None:
    """Close what an older version left open: the data dir (shutting out everything in it)
    and the SQLite file."""
    from django.conf import settings

    data_dir.chmod(0o700)
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and Path(database["NAME"]).exists():
        Path(database["NAME"]).chmod(0o600)


def serve(host: str, port: int, workers: int = 2) -> None:
    """Collect static files and run the WSGI app under gunicorn."""
    from django.core.management import call_command
    from gunicorn.app.base import BaseApplication

    call_command("collectstatic", interactive=False, verbosity=0)
    from loanquality.web.wsgi import application  # after: WhiteNoise indexes files on load

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("timeout", 300)  # an import of a large ledger runs in the request
            self.cfg.set("limit_request_line", 8190)  # gunicorn's most: long filter URLs
            self.cfg.set("accesslog", "-")

        def load(self):
            return application

    Server().run()
