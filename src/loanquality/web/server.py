"""The web application under gunicorn: the Django project's own, above every app."""

from __future__ import annotations


def serve(host: str, port: int, workers: int = 2) -> None:
    """Collect static files, let an approval a crash left unpublished take effect, and run
    the WSGI app under gunicorn."""
    from django.core.management import call_command
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    from loanquality.operations.actions import complete_pending_approvals

    call_command("collectstatic", interactive=False, verbosity=0)
    complete_pending_approvals(wait=True)  # closes now, before any worker forks
    connections.close_all()  # no worker inherits this process's database connection
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
