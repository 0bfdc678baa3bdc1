"""Read an input file (CSV in UTF-8 or GBK, XLSX, Parquet) into a table of text columns.

Everything is read as text first so that one converter (``ingest.convert``)
decides what a valid value is, whatever the file format was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from loanquality.engine import limits
from loanquality.engine.problems import (
    MAX_LISTED,
    InputRejected,
    Problem,
    file_rejected,
    raise_together,
)
from loanquality.engine.workbooks import DamagedWorkbook, check_workbook

HEADER_BYTES = 1 << 20  # enough for the header of any ledger; the rest is not looked at


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
    _check_header_width(path)
    data = path.read_bytes()
    data = _as_utf8(path.name, data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    first_line = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    header = _header_fields(path.name, first_line)
    if not header or not any(h.strip() for h in header):
        raise InputRejected(
            [Problem(path.name, 1, None, None, None, "has no header row", "缺少表头行")]
        )
    _reject_repeated_headers(path, header)
    _check_row_count(path.name, data.count(b"\n") + (not data.endswith(b"\n")) - 1)
    return _parsed_csv(path.name, data, header)


def _check_header_width(path: Path) -> None:
    """Refuse a CSV with too many columns from its first line, before reading the rest."""
    with path.open("rb") as file:
        # commas and quotes are ASCII, never part of a UTF-8 or GB18030 character
        first_line = file.readline(HEADER_BYTES).decode("latin-1").rstrip("\r\n")
    _check_column_count(path.name, len(_header_fields(path.name, first_line)))


def _header_fields(file: str, line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:  # a carriage return inside the line: old Mac line endings
        raise InputRejected(
            [
                Problem(
                    file,
                    1,
                    None,
                    None,
                    None,
                    "the header line holds a carriage return (CR) without a line feed:"
                    " save the file with Windows (CRLF) or Unix (LF) line endings",
                    "表头行中含有单独的回车符（CR）："
                    "请以 Windows（CRLF）或 Unix（LF）换行格式另存文件",
                )
            ]
        ) from None


def _check_column_count(file: str, columns: int) -> None:
    if columns > limits.MAX_COLUMNS.value():
        raise InputRejected(
            [
                limits.MAX_COLUMNS.problem(
                    file, f"has {columns:,} columns", f"共 {columns:,} 列", line=1
                )
            ]
        )


def _check_row_count(file: str, rows: int) -> None:
    if rows > limits.MAX_ROWS.value():
        raise InputRejected(
            [
                limits.MAX_ROWS.problem(
                    file, f"has {rows:,} rows below the header", f"表头以下共 {rows:,} 行"
                )
            ]
        )


def _as_utf8(file: str, data: bytes) -> bytes:
    """The bytes as UTF-8; every byte neither UTF-8 nor GB18030 (covers GBK) is a problem."""
    if detect_encoding(data) == "utf-8":
        return data
    try:
        return data.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError:
        pass
    spans = _undecodable(data, "gb18030")
    lines = _line_numbers(data, [start for start, _ in spans])
    raise InputRejected(
        [
            Problem(
                file,
                line,
                None,
                None,
                data[start:end].hex(" "),
                "these bytes are neither UTF-8 nor GBK/GB18030 text",
                "存在既非 UTF-8 也非 GBK/GB18030 编码的字节",
            )
            for (start, end), line in zip(spans, lines, strict=True)
        ]
    )


def _undecodable(data: bytes, encoding: str) -> list[tuple[int, int]]:
    """Where decoding fails (start and end of each bad sequence), as many as are listed."""
    spans: list[tuple[int, int]]
    view, spans, start = memoryview(data), [], 0
    while len(spans) < MAX_LISTED:
        try:
            str(view[start:], encoding)
            break
        except UnicodeDecodeError as error:
            spans.append((start + error.start, start + error.end))
            start += error.end
    return spans


def _line_numbers(data: bytes, offsets: list[int]) -> list[int]:
    lines, line, previous = [], 1, 0
    for offset in offsets:
        line += data.count(b"\n", previous, offset)
        lines.append(line)
        previous = offset
    return lines


def _parsed_csv(file: str, data: bytes, header: list[str]) -> pa.Table:
    """Parse in parallel; a row with too many or too few fields is a problem. Parallel
    parsing cannot tell such a row's line, so only then is the file parsed again serially."""
    table, bad = _parse(data, header, threads=True)
    if bad.count:
        _, bad = _parse(data, header, threads=False)
        raise InputRejected([_structure_problem(file, row) for row in bad.rows], bad.count)
    if _runs_to_the_end(data, table):
        opened = data.rfind(b'"')
        raise InputRejected(
            [
                Problem(
                    file,
                    data.count(b"\n", 0, opened) + 1,
                    None,
                    None,
                    data[opened : opened + 40].decode("utf-8", "replace"),
                    'a quote (") is not closed: every line after it runs into one field',
                    '引号（"）未闭合，其后各行全部并入同一字段',
                )
            ]
        )
    return table


def _runs_to_the_end(data: bytes, table: pa.Table) -> bool:
    """Whether a quote left open swallowed the lines after it into the last row's field (an
    odd quote inside an unquoted field, 12" say, is only a character)."""
    if not data.count(b'"') % 2 or not table.num_rows:
        return False
    last = table.slice(table.num_rows - 1).to_pylist()[0].values()
    return any(isinstance(value, str) and "\n" in value for value in last)


@dataclass
class _BadRows:
    count: int = 0
    rows: list[pacsv.InvalidRow] = field(default_factory=list)

    def note(self, row: pacsv.InvalidRow) -> Literal["skip"]:
        self.count += 1
        if len(self.rows) < MAX_LISTED:
            self.rows.append(row)
        return "skip"


def _parse(data: bytes, header: list[str], threads: bool) -> tuple[pa.Table, _BadRows]:
    bad = _BadRows()
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(block_size=1 << 24, use_threads=threads),
        parse_options=pacsv.ParseOptions(invalid_row_handler=bad.note),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    return table, bad


def _structure_problem(file: str, row: pacsv.InvalidRow) -> Problem:
    """A row with the wrong number of fields, said the way a person finds it in the file."""
    expected, actual = row.expected_columns, row.actual_columns
    text = row.text if len(row.text) <= 80 else row.text[:80] + "…"
    if row.text.count('"') % 2:
        english = (
            f'a quote (") is not closed: the following lines run into one field'
            f" ({actual} fields, the header has {expected})"
        )
        chinese = (
            f'引号（"）未闭合，其后各行被并入同一字段（{actual} 个字段，表头为 {expected} 列）'
        )
    elif actual > expected:
        english = f"has {actual} fields, more than the header's {expected}"
        chinese = f"有 {actual} 个字段，多于表头的 {expected} 列"
    else:
        english = f"has {actual} fields, fewer than the header's {expected}"
        chinese = f"只有 {actual} 个字段，少于表头的 {expected} 列"
    return Problem(file, row.number, None, None, text, english, chinese)


def _read_parquet(path: Path) -> pa.Table:
    metadata = pq.ParquetFile(path).metadata
    raise_together(
        lambda: _check_column_count(path.name, metadata.num_columns),
        lambda: _check_row_count(path.name, metadata.num_rows),
    )
    table = pq.read_table(path)
    # pa.table takes chunked arrays as a mapping's values too; pyarrow-stubs list only arrays
    return pa.table({name: _as_text(table.column(name)) for name in table.column_names})  # type: ignore[misc]


def _as_text(column: pa.ChunkedArray[Any]) -> pa.ChunkedArray[Any]:
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
        check_workbook(path)
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()
    except (DamagedWorkbook, CalamineError) as error:  # damaged, or protected by a password
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
