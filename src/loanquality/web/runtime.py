"""Starting Django from the CLI: settings for a data directory, migrations, the server."""

from __future__ import annotations

import os
from pathlib import Path


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
            self.cfg.set("accesslog", "-")

        def load(self):
            return application

    Server().run()
