"""Uploads are bounded: a file over LOANQUALITY_MAX_UPLOAD_BYTES is refused in Chinese
naming the limit, and a hostile workbook uploaded as a 批量认定 sheet is refused by the
same bounded reader as an import, without taking the worker down."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import logged_in
from loanquality.common.uploads import BoundedUploadHandler, save_upload
from loanquality.engine.problems import InputRejected
from loanquality.overrides.models import Override


def batch_sheet() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["借据号", "认定分类", "认定理由"])
    book.active.append(["L-any", "次级", "停产"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_batch_sheet_over_the_upload_limit_is_refused_naming_the_limit(risk, monkeypatch):
    """Limit 100 bytes; the sheet has len(content) > 100: a 400 page saying its size and
    the limit in Chinese, and no proposal made."""
    # given
    monkeypatch.setenv("LOANQUALITY_MAX_UPLOAD_BYTES", "100")
    content = batch_sheet()
    # when
    answer = logged_in(risk).post(
        "/overrides/batch/", {"sheet": SimpleUploadedFile("认定清单.xlsx", content)}
    )
    # then
    assert answer.status_code == 400
    assert (
        f"认定清单.xlsx：上传文件大小达 {len(content):,} 字节，上限为 100 字节"
        "（设置项 LOANQUALITY_MAX_UPLOAD_BYTES）"
    ) in answer.content.decode()
    assert not Override.objects.exists()


def test_a_hostile_workbook_as_a_batch_sheet_is_refused_and_the_worker_lives(risk):
    """A 2 KB workbook with one cell at XFD1048576 (calamine would allocate 512 GB and
    abort the process): a 400 page naming the column limit; the test process survives."""
    # given
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:XFD1048576"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>借据号</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    good = io.BytesIO(batch_sheet())
    hostile = io.BytesIO()
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(hostile, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet.encode()
            target.writestr(info, data)
    # when
    answer = logged_in(risk).post(
        "/overrides/batch/", {"sheet": SimpleUploadedFile("认定清单.xlsx", hostile.getvalue())}
    )
    # then
    assert answer.status_code == 400
    assert (
        "工作表声明的范围达到 XFD1048576：共 16,384 列，上限为 500 列"
        "（设置项 LOANQUALITY_MAX_COLUMNS）"
    ) in answer.content.decode()
    assert not Override.objects.exists()


class Understated:
    """An upload whose declared size (10 bytes) is less than the 3 × 64 bytes it yields."""

    name, size = "loans.csv", 10

    def chunks(self):
        yield from [b"x" * 64] * 3


def test_an_upload_is_cut_off_once_its_bytes_pass_the_limit(tmp_path, monkeypatch):
    """Limit 100: the upload passes the declared-size check (10) but its second chunk
    brings it to 128 bytes; refused at 128, and nothing is left on disk."""
    # given
    monkeypatch.setenv("LOANQUALITY_MAX_UPLOAD_BYTES", "100")
    path = tmp_path / "loans.csv"
    # when
    with pytest.raises(InputRejected) as caught:
        save_upload(Understated(), path)
    # then
    assert caught.value.problems[0].chinese == (
        "上传文件大小达 128 字节，上限为 100 字节（设置项 LOANQUALITY_MAX_UPLOAD_BYTES）"
    )
    assert not path.exists()


def test_an_upload_within_the_limit_is_written_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("LOANQUALITY_MAX_UPLOAD_BYTES", "192")
    path = tmp_path / "loans.csv"
    save_upload(Understated(), path)
    assert path.read_bytes() == b"x" * 192


def test_the_upload_handler_keeps_no_more_than_the_limit_on_disk(rf, monkeypatch):
    """Limit 100, 3,000 bytes arriving in 64-byte chunks: the first chunk is written (64 ≤
    100), the second would make 128 > 100, so 64 bytes are on disk; the file still says
    3,000, so save_upload refuses it with its true size."""
    # given
    monkeypatch.setenv("LOANQUALITY_MAX_UPLOAD_BYTES", "100")
    handler = BoundedUploadHandler(rf.post("/operations/import/"))
    handler.new_file("loans", "loans.csv", "text/csv", 3_000)
    # when
    for start in range(0, 3_000, 64):
        handler.receive_data_chunk(b"x" * min(64, 3_000 - start), start)
    upload = handler.file_complete(3_000)
    # then
    assert os.path.getsize(upload.temporary_file_path()) == 64
    assert upload.size == 3_000
    with pytest.raises(InputRejected, match="上传文件大小达 3,000 字节"):
        save_upload(upload, Path(upload.temporary_file_path()).with_suffix(".copy"))
    upload.close()
