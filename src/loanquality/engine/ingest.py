"""Import one as-of date: read every file, validate all of it, then publish it all or nothing."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from loanquality.engine.convert import (
    LINE,
    Converted,
    MappingProfile,
    ProblemFinder,
    check_issue_dates,
    convert,
)
from loanquality.engine.lake import PART_FILE, Lake, Staged, new_run_id
from loanquality.engine.problems import InputRejected, Problem, file_rejected, raise_together
from loanquality.engine.reading import read_text_table
from loanquality.engine.schema import TABLES, Table

ROOT_ORG_ID = "ROOT"
Progress = Callable[[str], None]


@dataclass
class ImportResult:
    import_id: str
    as_of: dt.date
    rows: dict[str, int]
    replaced: list[str]
    warnings: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_input(path: Path, table_id: str, mapping: MappingProfile | None = None) -> Converted:
    """Read and convert one file as the import table ``table_id``; raise ``InputRejected``
    on any bad value."""
    return read_file(path, TABLES[table_id], mapping)


def read_file(path: Path, table: Table, mapping: MappingProfile | None = None) -> Converted:
    """Read and convert one file (CSV, XLSX or Parquet) as ``table``, which may be any
    table spec (a workflow app owns its own); ``InputRejected`` lists every bad value."""
    if not path.is_file():
        raise InputRejected(
            [Problem(str(path), None, None, None, None, "file not found", "文件不存在")]
        )
    text = read_text_table(path)
    return convert(text, table, path.name, mapping or MappingProfile())


def import_as_of(
    data_dir: Path,
    as_of: dt.date,
    files: dict[str, Path],
    mapping: MappingProfile | None = None,
    progress: Progress | None = None,
    user: str | None = None,
    *,
    replace_smaller: bool = False,
    wait: bool = False,
) -> ImportResult:
    """Validate ``files`` (table id -> path; ``loans`` required) and publish them for ``as_of``.

    Every problem in every file is reported together; when there is one,
    ``InputRejected`` is raised and the data directory is left untouched. So it is when
    another import or close holds the data directory (unless ``wait``), and when the
    ledger would replace the date's with far fewer loans (unless ``replace_smaller``).
    """
    lake = Lake(data_dir)
    with lake.writing("import", as_of, wait=wait):
        return _import(lake, as_of, files, mapping, progress, user, replace_smaller)


def _import(
    lake: Lake,
    as_of: dt.date,
    files: dict[str, Path],
    mapping: MappingProfile | None,
    progress: Progress | None,
    user: str | None,
    replace_smaller: bool,
) -> ImportResult:
    step = progress or (lambda _: None)
    converted: dict[str, Converted] = {}
    problems: list[Problem] = []
    total = 0
    for table_id, path in files.items():
        step(f"读取 {path.name}")
        try:
            converted[table_id] = read_input(path, table_id, mapping)
        except InputRejected as rejected:
            problems += rejected.problems
            total += rejected.total
    if problems:
        raise InputRejected(problems, total)

    step("校验机构与借据关联")
    warnings = [w for c in converted.values() for w in c.warnings]
    orgs, orgs_source = _org_tree(lake, as_of, converted, warnings)
    earlier = [d for d in lake.as_ofs("loans") if d < as_of]
    earlier_loans = lake.read("loans", earlier[-1]).select(["loan_id"]) if earlier else None
    ledger = converted["loans"]
    raise_together(
        lambda: check_contents(converted, orgs, earlier_loans, as_of),
        lambda: warnings.extend(check_replacement(lake, as_of, ledger, replace_smaller)),
    )

    staged = Staged()
    for table_id, item in converted.items():
        staged.tables[table_id] = item.data.drop_columns([LINE])
    staged.tables["orgs"] = orgs
    staged.sources["orgs"] = orgs_source
    staged.raw_files = list(files.values())
    import_id = new_run_id()
    entry = {
        "import_id": import_id,
        "as_of": as_of.isoformat(),
        "user": user or getpass.getuser(),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "files": [
            {
                "table": table_id,
                "name": path.name,
                "sha256": sha256_of(path),
                "rows": converted[table_id].data.num_rows,
            }
            for table_id, path in files.items()
        ],
        "orgs_source": orgs_source,
        "warnings": warnings,
    }
    step("写入数据湖")
    replaced = lake.publish(as_of, staged, entry)
    return ImportResult(
        import_id,
        as_of,
        {t: d.num_rows for t, d in staged.tables.items()},
        replaced,
        warnings,
    )


def check_replacement(
    lake: Lake, as_of: dt.date, ledger: Converted, replace_smaller: bool
) -> list[str]:
    """Refuse a ledger that would replace the date's with none or far fewer loans (a wrong
    or truncated export) unless the user says so; warn when the date was already closed.
    The share is ``LOANQUALITY_REPLACE_MIN_SHARE`` (default 0.5)."""
    if not lake.has("loans", as_of):
        return []
    before = pq.read_metadata(lake.partition("loans", as_of) / PART_FILE).num_rows
    now = ledger.data.num_rows
    share = replace_min_share()
    if not replace_smaller and (now == 0 or now < share * before):
        raise file_rejected(
            ledger.file,
            f"this ledger has {now:,} loans and would replace the {before:,} imported for"
            f" {as_of} (fewer than {share:.0%} of them); if that is meant, import again with"
            " --replace-smaller",
            f"本次台账仅 {now:,} 笔，将替换 {as_of} 已导入的 {before:,} 笔（不足 {share:.0%}）；"
            "如确属有意替换，请勾选「确认以较少的借据替换」"
            "（命令行加 --replace-smaller）后重新导入",
        )
    if not lake.has("classified", as_of):
        return []
    return [
        f"{as_of} was already closed: its close results are kept in history/ and the date"
        " must be closed again / 该报告日已结账：原结账结果已保存至 history/，请重新结账"
    ]


def replace_min_share() -> float:
    text = os.environ.get("LOANQUALITY_REPLACE_MIN_SHARE", "0.5")
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise file_rejected(
            "LOANQUALITY_REPLACE_MIN_SHARE",
            "must be a share between 0 and 1",
            "应为 0 到 1 之间的比例",
            text,
        )
    return share


def _org_tree(
    lake: Lake, as_of: dt.date, converted: dict[str, Converted], warnings: list[str]
) -> tuple[pa.Table, str]:
    """The org tree for this date: given now, else the nearest given earlier, else a flat one."""
    given = [d for d in lake.as_ofs("orgs") if lake.source("orgs", d) in ("given", "inherited")]
    if "orgs" in converted:
        _check_org_tree(converted["orgs"], lake.read("orgs", given[-1]) if given else None)
        return converted["orgs"].data.drop_columns([LINE]), "given"
    if given:
        earlier = [d for d in given if d <= as_of]
        nearest = earlier[-1] if earlier else given[0]
        return lake.read("orgs", nearest), "inherited"
    org_ids = cast(list[str], pc.unique(converted["loans"].data.column("org_id")).to_pylist())
    warnings.append(
        "no org table given: each org_id of the ledger becomes a unit under one root"
        " / 未提供机构表：台账中的机构号均作为总行下的一级机构"
    )
    ids = [ROOT_ORG_ID, *sorted(org_ids)]
    return (
        pa.table(
            {
                "org_id": ids,
                "org_name": ["全行", *sorted(org_ids)],
                "parent_id": [None, *([ROOT_ORG_ID] * len(org_ids))],
            }
        ),
        "synthesized",
    )


def _check_org_tree(orgs: Converted, earlier: pa.Table | None) -> None:
    """One root, every parent known, no cycles; and the root the data dir already has
    (``earlier``: the last org table given), so that one data dir stays one legal entity."""
    rows = orgs.data.to_pylist()
    parent = {r["org_id"]: r.get("parent_id") for r in rows}
    problems = []
    for row in rows:
        if row.get("parent_id") is not None and row["parent_id"] not in parent:
            problems.append(
                Problem(
                    orgs.file,
                    row[LINE],
                    "parent_id",
                    "上级机构号",
                    row["parent_id"],
                    "parent org is not in the org table",
                    "上级机构不在机构表中",
                )
            )
    roots = [row for row in rows if row.get("parent_id") is None]
    for extra in roots[1:]:  # one legal entity per data dir: the first root is it
        problems.append(
            Problem(
                orgs.file,
                extra[LINE],
                "parent_id",
                "上级机构号",
                None,
                f"a second root: only {roots[0]['org_id']} (line {roots[0][LINE]}) may have"
                " no parent; one data dir holds one legal entity",
                f"第二个顶级机构：只有 {roots[0]['org_id']}（第 {roots[0][LINE]} 行）可以没有"
                "上级机构，一个数据目录只对应一个法人机构",
            )
        )
    known_root = _root_of(earlier) if earlier is not None else None
    if roots and known_root is not None and roots[0]["org_id"] != known_root:
        problems.append(
            Problem(
                orgs.file,
                roots[0][LINE],
                "org_id",
                "机构号",
                roots[0]["org_id"],
                f"the root differs from this data dir's legal entity {known_root}",
                f"顶级机构与本数据目录已有的法人机构 {known_root} 不同",
            )
        )
    if not roots:
        problems.append(
            Problem(
                orgs.file,
                None,
                "parent_id",
                "上级机构号",
                None,
                "the org table has no root (an org without a parent)",
                "机构表没有顶级机构（上级机构号为空的机构）",
            )
        )
    for row in rows:
        seen, org = set(), row["org_id"]
        while org is not None and org not in seen:
            seen.add(org)
            org = parent.get(org)
        if org is not None:
            problems.append(
                Problem(
                    orgs.file,
                    row[LINE],
                    "parent_id",
                    "上级机构号",
                    row.get("parent_id"),
                    "org is its own ancestor (a cycle in the tree)",
                    "机构上下级关系形成循环",
                )
            )
    if problems:
        raise InputRejected(problems)


def _root_of(orgs: pa.Table) -> str | None:
    roots = [
        r["org_id"]
        for r in orgs.select(["org_id", "parent_id"]).to_pylist()
        if r["parent_id"] is None
    ]
    return roots[0] if roots else None


def check_contents(
    converted: dict[str, Converted],
    orgs: pa.Table | None,
    earlier_loans: pa.Table | None,
    as_of: dt.date,
) -> None:
    """What no single file can tell: references between the tables and to the earlier
    ledger, and issue dates against the as-of date; every problem of both at once."""
    raise_together(
        lambda: check_references(converted, orgs, earlier_loans),
        lambda: check_issue_dates(converted["loans"], as_of),
    )


_ORG_REFERENCES = ("loans", "staff", "provisions", "capital")
_LOAN_REFERENCES = ("schedules", "repayments", "collateral", "guarantees")


def check_references(
    converted: dict[str, Converted], orgs: pa.Table | None, earlier_loans: pa.Table | None
) -> None:
    """Every org_id must be in the org tree (when given) and every loan_id of a side table
    in the ledger. Repayments may also name a loan of the previous ledger (``earlier_loans``):
    a loan paid off during the period is no longer on this one."""
    con = duckdb.connect()
    if orgs is not None:
        con.register("org_tree", orgs.select(["org_id"]))
    con.register("ledger", converted["loans"].data.select(["loan_id"]))
    earlier = (
        earlier_loans
        if earlier_loans is not None
        else pa.table({"loan_id": pa.array([], pa.string())})
    )
    con.register("earlier", earlier.select(["loan_id"]))
    problems: list[Problem] = []
    total = 0
    for table_id, item in converted.items():
        con.register("rows", item.data)
        finder = ProblemFinder(con, item.file, item.table)
        if orgs is not None and table_id in _ORG_REFERENCES and "org_id" in item.data.column_names:
            finder.check(
                "rows",
                "org_id IS NOT NULL AND org_id NOT IN (SELECT org_id FROM org_tree)",
                "org_id",
                "org_id",
                "unknown org_id: not in the org table",
                "机构号不在机构表中",
            )
        if table_id == "repayments":
            finder.check(
                "rows",
                "loan_id NOT IN (SELECT loan_id FROM ledger)"
                " AND loan_id NOT IN (SELECT loan_id FROM earlier)",
                "loan_id",
                "loan_id",
                "loan_id is neither in this ledger nor in the previous one",
                "借据号既不在本期也不在上期借据台账中",
            )
        elif table_id in _LOAN_REFERENCES:
            finder.check(
                "rows",
                "loan_id NOT IN (SELECT loan_id FROM ledger)",
                "loan_id",
                "loan_id",
                "loan_id is not in the loan ledger of this date",
                "借据号不在本期借据台账中",
            )
        con.unregister("rows")
        problems += finder.problems
        total += finder.total
    con.close()
    if problems:
        raise InputRejected(problems, total)
