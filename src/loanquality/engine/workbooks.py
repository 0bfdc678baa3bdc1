"""An XLSX is measured before calamine opens it.

Calamine allocates every cell of the rectangle up to a sheet's farthest cell, filled or
not: a 6 KB workbook with one value at XFD1048576 asks for 512 GB and aborts the process.
It also trusts the sizes a zip's directory declares. So, before calamine sees the file:
the directory's sizes are added up, every member is unpacked (in chunks, never whole)
and must unpack to exactly what it declares, and the cells of every worksheet are
located. A worksheet that declares its range (``<dimension ref=...>``, as Excel, WPS,
LibreOffice, openpyxl and xlsxwriter write it) is checked against that range with one
RE2 search per chunk (pyarrow); one that declares none, or whose cells lie outside
it, or that leaves cells to be placed by counting, is walked tag by tag (slower, exact).
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from loanquality.engine.limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    Limit,
)
from loanquality.engine.problems import InputRejected

CHUNK = 8 << 20
LOCAL_HEADER = struct.Struct("<4s22xHH")


class DamagedWorkbook(Exception):
    """The file is not a zip calamine could read safely."""


@dataclass(frozen=True)
class Extent:
    """The farthest row and column (1-based) a sheet's cells reach."""

    rows: int
    columns: int

    def reference(self) -> str:
        return f"{column_letters(self.columns)}{self.rows}"


def check_workbook(path: Path) -> None:
    """Raise ``InputRejected`` when the workbook unpacks to too much or a sheet spans more
    rows, columns or cells than the limits; ``DamagedWorkbook`` when it is no sound zip."""
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
            members = archive.infolist()
            _check_declared_sizes(path.name, members)
            for info in members:
                chunks = partial(unpacked, raw, info)
                if _is_worksheet(info.filename):
                    _check_extent(path.name, *sheet_extent(chunks))
                else:
                    for _ in chunks():
                        pass
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, struct.error) as error:
        raise DamagedWorkbook(str(error)) from error


def _check_declared_sizes(file: str, members: list[zipfile.ZipInfo]) -> None:
    total = sum(info.file_size for info in members)
    if total > MAX_UNPACKED_BYTES.value():
        raise InputRejected(
            [
                MAX_UNPACKED_BYTES.problem(
                    file, f"unpacks to {total:,} bytes", f"解压后共 {total:,} 字节"
                )
            ]
        )


def _is_worksheet(name: str) -> bool:
    # calamine takes a sheet to be a worksheet by its folder, xl/worksheets/
    parts = name.replace("\\", "/").lower().split("/")
    return len(parts) > 2 and parts[:2] == ["xl", "worksheets"] and "_rels" not in parts


def unpacked(raw: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes in chunks; raises ``DamagedWorkbook`` if they are more (or fewer)
    than the zip's directory declares, which a zip bomb relies on a reader to trust."""
    if info.flag_bits & 0x1:
        raise DamagedWorkbook(f"{info.filename} is encrypted")
    raw.seek(info.header_offset)
    signature, name_length, extra_length = LOCAL_HEADER.unpack(raw.read(LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise DamagedWorkbook(f"{info.filename}: no local header")
    raw.seek(info.header_offset + LOCAL_HEADER.size + name_length + extra_length)
    if info.compress_type == zipfile.ZIP_STORED:
        yield from _stored(raw, info)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        yield from _inflated(raw, info)
    else:
        raise DamagedWorkbook(f"{info.filename}: compression method {info.compress_type}")


def _compressed_blocks(raw: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    left = info.compress_size
    while left:
        block = raw.read(min(CHUNK, left))
        if not block:
            raise DamagedWorkbook(f"{info.filename} is truncated")
        left -= len(block)
        yield block


def _stored(raw: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    if info.compress_size != info.file_size:
        raise DamagedWorkbook(f"{info.filename}: sizes disagree")
    yield from _compressed_blocks(raw, info)


def _inflated(raw: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    for block in _compressed_blocks(raw, info):
        while not inflate.eof:
            out = inflate.decompress(block, CHUNK)
            block = inflate.unconsumed_tail
            if not out and not block:
                break
            produced += len(out)
            if produced > info.file_size:
                raise DamagedWorkbook(f"{info.filename} unpacks to more than it declares")
            if out:
                yield out
    if not inflate.eof or produced != info.file_size:
        raise DamagedWorkbook(f"{info.filename} unpacks to other than it declares")


# --- where a worksheet's cells are ----------------------------------------------------

DIMENSION = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*?\bref\s*=\s*[\"'](?:[A-Za-z]+\d+:)?"
    rb"([A-Za-z]+)(\d+)[\"']"
)
TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
POSITION = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([A-Za-z]*)(\d+)")


def sheet_extent(chunks: Callable[[], Iterator[bytes]]) -> tuple[Extent, str]:
    """How far the sheet's cells reach, and whether that is what it ``declares`` or what its
    cells ``reach``. ``chunks`` gives the sheet's XML afresh on each call."""
    pieces = _tag_aligned(chunks())
    first = next(pieces, b"")
    declared = _declared(first)
    if declared is None or _beyond_limits(declared):
        return (declared, "declares") if declared else (_walked(chunks()), "reach")
    outside = _outside_pattern(declared)
    for piece in _chained(first, pieces):
        if pc.match_substring_regex(pa.array([piece], pa.binary()), outside)[0].as_py():
            return _walked(chunks()), "reach"
    return declared, "declares"


def _tag_aligned(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The XML in pieces that each end just before a ``<``, so no tag is cut in two."""
    carry = b""
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"<")
        if cut <= 0:
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut]
    if carry:
        yield carry


def _chained(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _declared(head: bytes) -> Extent | None:
    """The end of the sheet's declared range; calamine reads it only before the cells."""
    found = DIMENSION.search(head, 0, _before_cells(head))
    if found is None:
        return None
    return Extent(int(found.group(2)), column_number(found.group(1)))


def _before_cells(head: bytes) -> int:
    at = head.find(b"sheetData")
    return at if at >= 0 else len(head)


def _outside_pattern(extent: Extent) -> str:
    """An RE2 pattern (a scan at memory speed, where Python's ``re`` pays for every cell)
    for a cell beyond ``extent``; for one whose first attribute is not its place ``r``; and
    for a cell with a namespace prefix: counted places and prefixes are left to the walk."""
    beyond = (
        _letters_above(extent.columns) + r"\d|[A-Za-z]+0*" + _digits_above(extent.rows) + "[\"']"
    )
    not_placed_first = r">|/|\s+[^r\s]|\s+r\s*[^\s=]"
    return (
        rf"<c(?:{not_placed_first}|\s+r\s*=\s*[\"'](?:{beyond}))"
        r"|<[A-Za-z_][\w.-]*:c[\s/>]"
    )


def _walked(chunks: Iterator[bytes]) -> Extent:
    """Place every cell as calamine does: by its ``r`` attribute, else next to the previous
    one (rows likewise). Stops once beyond a limit, as the file will be refused anyway."""
    row, column, farthest_row, farthest_column = 1, 1, 0, 0
    for piece in _tag_aligned(chunks):
        for closing, name, attributes in TAG.findall(piece):
            place = None if closing else POSITION.search(attributes)
            if name == b"row":
                if place:
                    row = int(place.group(2))
                if closing or attributes.endswith(b"/"):
                    row, column = row + 1, 1
                continue
            if closing:
                continue
            cell_row = int(place.group(2)) if place else row
            if place and place.group(1):
                column = column_number(place.group(1))
            farthest_row = max(farthest_row, cell_row)
            farthest_column = max(farthest_column, column)
            column += 1
        if _beyond_limits(Extent(farthest_row, farthest_column)):
            break
    return Extent(farthest_row, farthest_column)


def _counted(extent: Extent) -> list[tuple[Limit, int, str, str]]:
    """Each limit a sheet's extent is held to: the count, said in English and Chinese."""
    rows, columns, cells = extent.rows - 1, extent.columns, extent.rows * extent.columns
    return [
        (MAX_ROWS, rows, f"{rows:,} rows below the header", f"表头以下 {rows:,} 行"),
        (MAX_COLUMNS, columns, f"{columns:,} columns", f"共 {columns:,} 列"),
        (MAX_CELLS, cells, f"{cells:,} cells to hold", f"需容纳 {cells:,} 个单元格"),
    ]


def _beyond_limits(extent: Extent) -> bool:
    return any(count > limit.value() for limit, count, _, _ in _counted(extent))


def _check_extent(file: str, extent: Extent, how: str) -> None:
    """``how``: the sheet ``declares`` its range to reach ``extent``, or its cells ``reach``
    there."""
    reach = extent.reference()
    if how == "declares":
        where, where_chinese = f"the sheet declares its cells to reach {reach}", "工作表声明的范围"
    else:
        where, where_chinese = f"the sheet's cells reach {reach}", "工作表的单元格"
    where_chinese += f"达到 {reach}"
    problems = [
        limit.problem(file, f"{where}: {english}", f"{where_chinese}：{chinese}")
        for limit, count, english, chinese in _counted(extent)
        if count > limit.value()
    ]
    if problems:
        raise InputRejected(problems)


# --- column letters and numbers, and patterns for "greater than" -----------------------


def column_number(letters: bytes | str) -> int:
    number = 0
    for letter in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _digits_above(limit: int) -> str:
    """A pattern for a whole number greater than ``limit`` (no leading zeros), to be
    followed by what ends the number."""
    text = str(limit)
    longer = rf"[1-9]\d{{{len(text)},}}"
    same_length = [
        text[:i] + f"[{int(digit) + 1}-9]" + rf"\d{{{len(text) - i - 1}}}"
        for i, digit in enumerate(text)
        if digit != "9"
    ]
    return "(?:" + "|".join([longer, *same_length]) + ")"


def _letters_above(limit: int) -> str:
    """A pattern for column letters (either case) past column number ``limit``, to be
    followed by what ends the letters."""
    text = column_letters(limit)

    def either(letter: str) -> str:
        return f"[{letter}{letter.lower()}]"

    longer = rf"[A-Za-z]{{{len(text) + 1},}}"
    same_length = [
        "".join(either(c) for c in text[:i])
        + f"[{chr(ord(letter) + 1)}-Z{chr(ord(letter) + 1).lower()}-z]"
        + rf"[A-Za-z]{{{len(text) - i - 1}}}"
        for i, letter in enumerate(text)
        if letter != "Z"
    ]
    return "(?:" + "|".join([longer, *same_length]) + ")"
