"""Errors every layer may raise and every front end reports the same way."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class Misconfigured(ImproperlyConfigured):
    """A setting the system cannot run with (a key, a file it must write): said in English
    and in Chinese; the CLI prints both and exits 2, the server refuses to start."""

    def __init__(self, english: str, chinese: str):
        super().__init__(f"{english}\n{chinese}")
        self.english, self.chinese = english, chinese
