"""The web application under gunicorn: the Django project's own, above every app."""

from __future__ import annotations


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
