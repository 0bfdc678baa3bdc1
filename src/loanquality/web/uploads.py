"""Uploaded files' names, as the disk and the database can keep them."""

from __future__ import annotations

from pathlib import Path


def file_name(upload, default: str) -> str:
    """The file's own name, without folders or NUL (neither the disk nor PostgreSQL take
    it); ``default`` when nothing is left."""
    name = Path((upload.name or "").replace("\x00", "")).name
    return name or default
