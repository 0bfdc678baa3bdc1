"""Uploaded files: their names as the disk and the database can keep them, their bytes
written to disk no further than the upload size limit, and their rows read the one way
every file is read (``read_upload``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core.files.uploadhandler import TemporaryFileUploadHandler

from loanquality.engine.convert import Converted
from loanquality.engine.ingest import read_file
from loanquality.engine.limits import MAX_UPLOAD_BYTES
from loanquality.engine.problems import InputRejected
from loanquality.engine.schema import Table


def file_name(upload, default: str) -> str:
    """The file's own name, without folders or NUL (neither the disk nor PostgreSQL take
    it); ``default`` when nothing is left."""
    name = Path((upload.name or "").replace("\x00", "")).name
    return name or default


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary upload file, kept no longer than ``LOANQUALITY_MAX_UPLOAD_BYTES``:
    past it the bytes are counted, not written, so a huge POST cannot fill the disk and
    ``save_upload`` refuses the file with its true size."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.limit, self.received = MAX_UPLOAD_BYTES.value(), 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received <= self.limit:
            self.file.write(raw_data)


def save_upload(upload, path: Path) -> None:
    """Write ``upload`` to ``path``; raise ``InputRejected`` naming the limit when it is
    larger than ``LOANQUALITY_MAX_UPLOAD_BYTES``, before reading any of it if its declared
    size says so, else as soon as its bytes go past it."""
    limit = MAX_UPLOAD_BYTES.value()
    name = file_name(upload, path.name)
    if (upload.size or 0) > limit:
        raise _too_large(name, upload.size)
    written = 0
    with path.open("wb") as out:
        for chunk in upload.chunks():
            written += len(chunk)
            if written > limit:
                break
            out.write(chunk)
    if written > limit:
        path.unlink()
        raise _too_large(name, written)


def _too_large(name: str, size: int) -> InputRejected:
    return InputRejected(
        [
            MAX_UPLOAD_BYTES.problem(
                name, f"the upload has {size:,} bytes or more", f"上传文件大小达 {size:,} 字节"
            )
        ]
    )


def read_upload(upload, table: Table, default_name: str = "上传文件.xlsx") -> Converted:
    """The rows of an uploaded CSV, XLSX or Parquet file converted to ``table`` (an app's
    own table spec: column ids, Chinese headers, kinds, unique columns), through the
    engine's reading and validation. ``InputRejected`` lists every problem of the file at
    once, each with the file's own name, line, column and value, in both languages; the
    file is kept only while it is read."""
    name = file_name(upload, default_name)
    with tempfile.TemporaryDirectory(prefix="loanquality-upload-") as folder:
        path = Path(folder) / name
        save_upload(upload, path)
        return read_file(path, table)
