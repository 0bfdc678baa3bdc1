"""Read an input file (CSV in UTF-8 or GBK, XLSX, Parquet) into a table of text columns.

Everything is read as text first so that one converter (``ingest.convert``)
decides what a valid value is, whatever the file format was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from loanquality.engine.problems import InputRejected, Problem, file_rejected


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else GB18030 (covers GBK)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def read_text_table(path: Path) -> pa.Table:
    """Return the file's rows with every column as a nullable string, headers as written."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return _read_parquet(path)
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path)
        return _read_csv(path)
    except InputRejected:
        raise
    except (OSError, ValueError, pa.ArrowException) as error:
        raise file_rejected(
            path.name, f"cannot be read: {error}", f"文件无法读取：{error}"
        ) from error


def _read_csv(path: Path) -> pa.Table:
    data = path.read_bytes()
    if detect_encoding(data) != "utf-8":
        data = data.decode("gb18030").encode("utf-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    first_line = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    header = next(csv.reader([first_line]), [])
    if not header or not any(h.strip() for h in header):
        raise InputRejected(
            [Problem(path.name, 1, None, None, None, "has no header row", "缺少表头行")]
        )
    _reject_repeated_headers(path, header)
    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(block_size=1 << 24),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )


def _read_parquet(path: Path) -> pa.Table:
    table = pq.read_table(path)
    return pa.table({name: _as_text(table.column(name)) for name in table.column_names})


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.date32())
    return column.cast(pa.string())


def _read_xlsx(path: Path) -> pa.Table:
    """The first sheet, read by calamine (Rust): a million-row ledger in seconds where a
    Python reader takes minutes. Formulas read as their last computed values."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
    except CalamineError as error:  # not a workbook, damaged, or protected by a password
        raise file_rejected(
            path.name, f"cannot be read as an Excel workbook: {error}", "无法作为 Excel 工作簿读取"
        ) from error
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise InputRejected(
            [Problem(path.name, 1, None, None, None, "has no header row", "缺少表头行")]
        )
    _reject_repeated_headers(path, header)
    columns: list[list[str | None]] = [[] for _ in header]
    width = len(header)
    for row in rows:
        cells = (tuple(row) + (None,) * width)[:width]
        for values, cell in zip(columns, cells, strict=True):
            values.append(_cell_text(cell))
    # Excel often carries blank rows below the data; rows inside the data keep their line
    while columns[0] and all(values[-1] is None for values in columns):
        for values in columns:
            values.pop()
    return pa.table(
        {name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)}
    )


def _cell_text(cell: object) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    text = str(cell).strip()
    return text or None


def _reject_repeated_headers(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputRejected(
                [
                    Problem(
                        path.name,
                        1,
                        name,
                        None,
                        None,
                        "this header appears twice",
                        "表头重复",
                    )
                ]
            )
        seen.add(name)
