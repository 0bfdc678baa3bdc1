"""``loanquality import`` and ``loanquality close``: the web's actions, run as the OS user.

They go through ``operations.actions.import_files`` and ``close_now``, as the web's import
and close do, so the engine's call and its audit row are the same wherever they start;
the row names the OS user, ``via="cli"``, on the legal entity.

Unlike a ``django_group`` they cannot open the database first: the first import makes the
data dir, and files the engine refuses must leave none. So an existing data dir is opened
and its audit configuration checked before the engine runs (a run the audit log could not
record is refused before anything is published), and a new one once the engine has
published its first import.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from loanquality.common.cli import (
    AsOf,
    DataDir,
    OptionalFile,
    console,
    err_console,
    open_checked,
    refusals,
    step_progress,
)
from loanquality.common.runtime import open_database, setup_django
from loanquality.engine.convert import MappingProfile
from loanquality.engine.schema import IMPORT_TABLES

app = typer.Typer()  # no name: its commands are the top level's


@app.command("import")
def import_command(
    data_dir: DataDir,
    as_of: AsOf,
    loans: Annotated[Path, typer.Option(help="Loan ledger 借据台账 (CSV/XLSX/Parquet).")],
    orgs: OptionalFile = None,
    staff: OptionalFile = None,
    schedules: OptionalFile = None,
    repayments: OptionalFile = None,
    customers: OptionalFile = None,
    collateral: OptionalFile = None,
    guarantees: OptionalFile = None,
    bureau: OptionalFile = None,
    provisions: OptionalFile = None,
    capital: OptionalFile = None,
    mapping: Annotated[Path | None, typer.Option(help="Mapping profile (TOML).")] = None,
    replace_smaller: Annotated[
        bool,
        typer.Option(
            "--replace-smaller",
            help="Replace the date's ledger even by one with far fewer loans. 确认以较少借据替换。",
        ),
    ] = False,
) -> None:
    """Import one as-of date's files into the lake (all or nothing). 导入一期数据。"""
    options = locals()  # one option per import table above, each named as its table
    files = {table: options[table] for table in IMPORT_TABLES if options[table] is not None}
    with refusals():
        profile = MappingProfile.load(mapping) if mapping else None
        with step_progress(len(files) + 2) as advance:
            result = as_os_user(
                data_dir,
                "import_files",
                as_of,
                files,
                mapping=profile,
                progress=advance,
                replace_smaller=replace_smaller,
            )
    for warning in result.warnings:
        err_console.print(f"warning / 警告: {warning}", markup=False)
    summary = Table(title=f"导入完成 imported {as_of}")
    summary.add_column("table 表")
    summary.add_column("rows 行数", justify="right")
    for table, rows in result.rows.items():
        summary.add_row(table, f"{rows:,}")
    console.print(summary)
    console.print(f"import id / 导入批次: {result.import_id}")
    if result.replaced:
        console.print(f"replaced / 已替换（旧版本保存在 history/）: {', '.join(result.replaced)}")


@app.command()
def close(
    data_dir: DataDir,
    as_of: AsOf,
    engine: Annotated[str, typer.Option(help="duckdb or pyspark")] = "duckdb",
    ruleset: Annotated[str, typer.Option(help="Rule set name or TOML file.")] = "cn-2023",
) -> None:
    """Monthly close: classify every loan, compute every metric, publish. 月末结账。"""
    from loanquality.engine.backends import ENGINES
    from loanquality.engine.close import CLOSE_STEPS
    from loanquality.engine.rules import load_ruleset

    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine must be one of {', '.join(ENGINES)}")
    with refusals():
        rules = load_ruleset(ruleset)
        with step_progress(CLOSE_STEPS) as advance:
            results = as_os_user(
                data_dir,
                "close_with_pending_approvals",
                as_of,
                engine=engine,
                ruleset=rules,
                progress=advance,
            )
    for result in results:  # more than one when an unpublished approval had earlier dates
        console.print(
            f"结账完成 closed {result.as_of} (previous / 上期 {result.previous_as_of or '—'}) "
            f"{result.rows['classified']:,} loans in {result.seconds:.1f}s on {result.engine}; "
            f"ruleset {result.ruleset} sha256 {result.ruleset_sha256[:12]}"
        )


def as_os_user(data_dir: Path, action: str, *args: Any, **kwargs: Any) -> Any:
    """Run ``operations.actions.<action>`` on ``data_dir`` as the OS user (``via="cli"``).

    An existing data dir's database is opened and its audit configuration checked first;
    a data dir not made yet gets Django's settings only, and its database is opened by the
    action once the engine has published (``open_audit_log``)."""
    made = data_dir.exists()
    if made:
        open_checked(data_dir)
    else:
        setup_django(data_dir)  # the settings make nothing in a data dir not made yet
    from loanquality.audit.runs import os_user
    from loanquality.operations import actions

    operator = actions.Operator(os_user(), via="cli")
    if not made:
        kwargs["open_audit_log"] = partial(open_database, data_dir)
    return getattr(actions, action)(operator, *args, data_dir=data_dir, **kwargs)
