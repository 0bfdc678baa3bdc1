"""The web application under gunicorn: the Django project's own, above every app."""

from __future__ import annotations

import sys


def serve(host: str, port: int, workers: int = 2) -> None:
    """Collect static files, put in force an approval whose close did not finish, and run
    the WSGI app under gunicorn."""
    from django.core.management import call_command
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    from loanquality.operations.actions import complete_pending_approvals
    from loanquality.overrides import outbox

    call_command("collectstatic", interactive=False, verbosity=0)
    if outbox.pending():
        print(
            "an approved 认定 is not yet in force (a close did not finish): closing again"
            " before serving / 有已审批但尚未生效的认定（上次结账未完成），先重新结账再启动服务",
            file=sys.stderr,
            flush=True,
        )
        run = complete_pending_approvals(wait=True)  # now, before any worker forks
        if run is not None:
            print(f"close / 结账: {run.get_status_display()} {run.error}", file=sys.stderr)
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
