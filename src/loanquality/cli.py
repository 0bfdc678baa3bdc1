"""The ``loanquality`` command. Thin: parse, call one function, report."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from loanquality.accounts import cli as accounts_cli
from loanquality.audit import cli as audit_cli
from loanquality.common.cli import (
    AsOf,
    DataDir,
    OptionalFile,
    console,
    err_console,
    open_checked,
    parse_date,
    refusals,
    reject,
    step_progress,
)
from loanquality.engine.convert import MappingProfile
from loanquality.engine.problems import InputRejected
from loanquality.operations import cli as operations_cli
from loanquality.warnings import cli as warnings_cli

# The command groups on the database, each ``loanquality NAME COMMAND --data-dir D``: a new
# app's group is one more entry (its module made with common.cli.django_group).
GROUPS = (accounts_cli.app, audit_cli.app, warnings_cli.app)

app = typer.Typer(
    help="loanquality — 信贷资产质量管理系统 (loan risk classification and asset quality).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _every_command() -> None:
    from loanquality.common.runtime import keep_files_private

    keep_files_private()


app.add_typer(operations_cli.app)  # import, close: at the top level, through the web's actions
for group in GROUPS:
    app.add_typer(group)


@app.command()
def classify(
    ledger: Annotated[Path, typer.Argument(help="Loan ledger 借据台账 (CSV/XLSX/Parquet).")],
    as_of: AsOf,
    output: Annotated[Path, typer.Option("-o", "--output", help="OUT.csv, .xlsx or .parquet")],
    schedules: OptionalFile = None,
    repayments: OptionalFile = None,
    previous: Annotated[
        Path | None, typer.Option(help="An earlier output of this command (last as-of).")
    ] = None,
    bureau: OptionalFile = None,
    overrides: Annotated[
        Path | None, typer.Option(help="Approved 认定: loan_id, category, reason, override_id.")
    ] = None,
    ruleset: Annotated[str, typer.Option(help="Rule set name or TOML file.")] = "cn-2023",
    mapping: Annotated[Path | None, typer.Option(help="Mapping profile (TOML).")] = None,
) -> None:
    """Classify a ledger export into the five categories, with reasons. 五级分类。"""
    from loanquality.engine.rules import load_ruleset
    from loanquality.engine.stateless import (
        OUTPUT_LABELS,
        check_output_path,
        classify_files,
        write_table,
    )

    try:
        check_output_path(output)
        rules = load_ruleset(ruleset)
        profile = MappingProfile.load(mapping) if mapping else None
        with step_progress(2) as advance:
            advance("读取并校验 reading")
            result = classify_files(
                ledger,
                as_of,
                rules,
                schedules=schedules,
                repayments=repayments,
                previous=previous,
                bureau=bureau,
                overrides=overrides,
                mapping=profile,
            )
            advance("写出 writing")
            write_table(result, output, OUTPUT_LABELS)
    except InputRejected as error:
        raise reject(error) from None
    counts = Table(title=f"五级分类 {as_of} ({rules.name}, sha256 {rules.sha256[:12]})")
    counts.add_column("分类 category")
    counts.add_column("笔数 loans", justify="right")
    counts.add_column("余额 balance", justify="right")
    labels = result.column("final_category_label").to_pylist()
    balances = result.column("balance").to_pylist()
    for label in ("正常", "关注", "次级", "可疑", "损失"):
        picked = [b or 0 for b, lab in zip(balances, labels, strict=True) if lab == label]
        counts.add_row(label, f"{len(picked):,}", f"{sum(picked):,.2f}")
    console.print(counts)
    refused = sum(result.column("override_refused").to_pylist())
    if refused:
        err_console.print(
            f"{refused} override(s) refused: upgrade above the rules without the"
            f" UPG conditions / {refused} 笔认定因上调条件不满足未生效"
        )
    console.print(f"wrote / 已写出 {output}")


Grouping = Annotated[
    list[str],
    typer.Option(
        "--by",
        help="total, org, manager, product, customer_type, industry, "
        "guarantee_type, village (repeat for several)",
    ),
]


def _report(
    kind: str, data_dir: Path, as_of: dt.date, by: list[str], file_format: str, output: Path | None
) -> None:
    from loanquality.engine.lake import Lake
    from loanquality.engine.metrics import GROUPINGS
    from loanquality.engine.reports import (
        FORMATS,
        indicators_document,
        migration_document,
        render,
        write_output,
    )

    unknown = [g for g in by if g not in GROUPINGS]
    if unknown or file_format not in FORMATS:
        raise typer.BadParameter(
            f"--by takes {', '.join(GROUPINGS)}; --format takes {', '.join(FORMATS)}"
        )
    if file_format == "xlsx" and output is None:
        raise typer.BadParameter("--format xlsx needs -o OUT.xlsx")
    document_of = indicators_document if kind == "indicators" else migration_document
    try:
        document = document_of(Lake(data_dir), as_of, by)
    except InputRejected as error:
        raise reject(error) from None
    write_output(render(document, file_format, kind), output)


@app.command()
def indicators(
    data_dir: DataDir,
    as_of: AsOf,
    by: Grouping = ["total"],  # noqa: B006 - typer reads the default, never mutates it
    file_format: Annotated[str, typer.Option("--format", help="json, csv or xlsx")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Asset-quality indicators of a close. 资产质量指标。"""
    _report("indicators", data_dir, as_of, by, file_format, output)


@app.command()
def migration(
    data_dir: DataDir,
    as_of: AsOf,
    by: Grouping = ["total"],  # noqa: B006
    file_format: Annotated[str, typer.Option("--format", help="json, csv or xlsx")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Migration matrix from the previous close. 迁徙矩阵。"""
    _report("migration", data_dir, as_of, by, file_format, output)


@app.command("signals")
def signals_command(
    data_dir: DataDir,
    as_of: AsOf,
    code: Annotated[
        list[str] | None,
        typer.Option("--code", help="Signal code, e.g. MAT3M (repeat for several; default all)."),
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this org's subtree.")] = None,
    file_format: Annotated[str, typer.Option("--format", help="json, csv or xlsx")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Early-warning signals of a close, worst first. 预警信号。"""
    from loanquality.engine.lake import Lake
    from loanquality.engine.reports import write_output
    from loanquality.engine.signals.report import check_request, render, signals_document

    lake, codes = Lake(data_dir), code or []
    try:
        check_request(lake, as_of, codes, org, file_format, output is not None)
        document = signals_document(lake, as_of, codes, org)
    except InputRejected as error:
        raise reject(error) from None
    write_output(render(document, file_format), output)
    if output is not None:
        err_console.print(f"{len(document['rows']):,} 条预警信号 signals; wrote / 已写出 {output}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the bank into.")],
    loans: Annotated[int, typer.Option(help="Loans on the books at the start.")] = 10_000,
    months: Annotated[int, typer.Option(help="Month ends to write.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same files.")] = 1,
    start: Annotated[dt.date, typer.Option(parser=parse_date, help="First month end.")] = dt.date(
        2024, 1, 31
    ),
    file_format: Annotated[str, typer.Option("--format", help="csv, xlsx or parquet.")] = "csv",
) -> None:
    """Write a synthetic county 联社 with Chinese headers, one folder per month end.

    Import each month as it is:

      loanquality import --data-dir DATA --as-of 2024-01-31 --orgs OUT/orgs.csv
        --staff OUT/staff.csv --customers OUT/customers.csv
        --loans OUT/2024-01-31/loans.csv --schedules OUT/2024-01-31/schedules.csv
        --repayments OUT/2024-01-31/repayments.csv --collateral OUT/2024-01-31/collateral.csv
        --guarantees OUT/guarantees.csv --bureau OUT/2024-01-31/bureau.csv
        --provisions OUT/2024-01-31/provisions.csv --capital OUT/capital.csv

    (the generator also writes OUT/import.sh with every month's command).
    """
    from loanquality.synth.generator import FORMATS, generate_bank

    if file_format not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    with step_progress(months + 1) as advance:
        bank = generate_bank(
            out,
            loans=loans,
            months=months,
            seed=seed,
            start=start,
            file_format=file_format,
            progress=advance,
        )
    console.print(
        f"wrote {len(bank.as_ofs)} month ends to {out} / 已生成; import with {out}/import.sh"
    )


@app.command()
def demo(
    data_dir: DataDir = Path("demo-data"),
    loans: Annotated[int, typer.Option(help="Loans on the books at the start.")] = 50_000,
    months: Annotated[int, typer.Option(help="Month ends.")] = 24,
    seed: int = 1,
    host: str = "127.0.0.1",
    port: int = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the bank only.")] = False,
) -> None:
    """Generate a synthetic bank, import and close every month, serve the web UI. 演示。"""
    from loanquality.demo import DEMO_PASSWORD, build_demo_bank, demo_users
    from loanquality.web.server import serve

    with refusals():  # its months and users go through the audited actions
        build_demo_bank(
            data_dir, loans=loans, months=months, seed=seed, console=console, progress=step_progress
        )
        open_checked(data_dir)
        users = demo_users(data_dir)
    table = Table(title=f"演示用户 demo users (密码 password: {DEMO_PASSWORD})")
    for header in ("用户名 username", "岗位 role", "机构 org"):
        table.add_column(header)
    for row in users:
        table.add_row(*row)
    console.print(table)
    if not no_serve:
        _require_free_port(host, port)
        console.print(f"打开 open http://{host}:{port}/ (Ctrl+C 停止 to stop)")
        serve(host, port)


@app.command("serve")
def serve_command(
    data_dir: DataDir,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="gunicorn worker processes")] = 2,
) -> None:
    """Run the web application and API (gunicorn). 启动网页服务。"""
    from loanquality.web.server import serve

    open_checked(data_dir)
    _require_free_port(host, port)
    serve(host, port, workers)


def _require_free_port(host: str, port: int) -> None:
    """Say what to do when another program has the port, instead of gunicorn's retries."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            err_console.print(
                f"port {port} on {host} is in use (another loanquality or web server?): stop it,"
                f" or choose another port: --port {port + 1} (make demo PORT={port + 1})\n"
                f"端口 {port} 已被占用（可能已有一个 loanquality 或其他网页服务在运行）："
                f"请先停止它，或换一个端口：--port {port + 1}（make demo PORT={port + 1}）",
                markup=False,
            )
            raise typer.Exit(2) from None


if __name__ == "__main__":
    app()
