"""The ``loanquality`` command. Thin: parse, call one function, report."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from loanquality.engine.convert import MappingProfile
from loanquality.engine.problems import InputRejected

app = typer.Typer(
    help="loanquality — 信贷资产质量管理系统 (loan risk classification and asset quality).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@app.callback()
def _every_command() -> None:
    from loanquality.common.runtime import keep_files_private

    keep_files_private()


DataDir = Annotated[Path, typer.Option("--data-dir", help="Data directory (lake, history, logs).")]
OptionalFile = Annotated[Path | None, typer.Option(exists=False, dir_okay=False)]


def parse_date(text: str | dt.date) -> dt.date:
    if isinstance(text, dt.date):
        return text
    for pattern in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"'{text}' is not a date (YYYY-MM-DD) / 不是有效日期")


AsOf = Annotated[dt.date, typer.Option("--as-of", parser=parse_date, help="As-of date 报告日.")]


@contextmanager
def step_progress(total: int) -> Iterator:
    """A Rich progress bar advanced one step per call of the yielded function; when the
    output is not a terminal (a log, CI, ``make demo | tee``), one line per step instead."""
    if not err_console.is_terminal:
        started, done = time.perf_counter(), 0

        def line(description: str) -> None:
            nonlocal done
            done += 1
            seconds = time.perf_counter() - started
            err_console.print(f"[{done}/{total}] {description} ({seconds:.0f} s)", markup=False)

        yield line
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)

        def advance(description: str) -> None:
            bar.update(task, description=description, advance=1)

        yield advance


def reject(error: InputRejected) -> typer.Exit:
    err_console.print(str(error), markup=False, highlight=False)
    err_console.print("Nothing was written. / 未写入任何数据。", style="bold red")
    return typer.Exit(2)


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
    from loanquality.engine.ingest import import_as_of

    given = {
        "loans": loans,
        "orgs": orgs,
        "staff": staff,
        "schedules": schedules,
        "repayments": repayments,
        "customers": customers,
        "collateral": collateral,
        "guarantees": guarantees,
        "bureau": bureau,
        "provisions": provisions,
        "capital": capital,
    }
    files = {table: path for table, path in given.items() if path is not None}
    _check_audit_first(data_dir)
    try:
        profile = MappingProfile.load(mapping) if mapping else None
        with step_progress(len(files) + 2) as advance:
            result = import_as_of(
                data_dir, as_of, files, profile, advance, replace_smaller=replace_smaller
            )
    except InputRejected as error:
        raise reject(error) from None
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
    _audit_engine_run(data_dir, "import", result)


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


@app.command()
def close(
    data_dir: DataDir,
    as_of: AsOf,
    engine: Annotated[str, typer.Option(help="duckdb or pyspark")] = "duckdb",
    ruleset: Annotated[str, typer.Option(help="Rule set name or TOML file.")] = "cn-2023",
) -> None:
    """Monthly close: classify every loan, compute every metric, publish. 月末结账。"""
    from loanquality.engine.backends import ENGINES
    from loanquality.engine.close import CLOSE_STEPS, run_close
    from loanquality.engine.rules import load_ruleset

    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine must be one of {', '.join(ENGINES)}")
    _check_audit_first(data_dir)
    try:
        rules = load_ruleset(ruleset)
        with step_progress(CLOSE_STEPS) as advance:
            result = run_close(data_dir, as_of, engine=engine, ruleset=rules, progress=advance)
    except InputRejected as error:
        raise reject(error) from None
    console.print(
        f"结账完成 closed {as_of} (previous / 上期 {result.previous_as_of or '—'}) "
        f"{result.rows['classified']:,} loans in {result.seconds:.1f}s on {result.engine}; "
        f"ruleset {result.ruleset} sha256 {result.ruleset_sha256[:12]}"
    )
    _audit_engine_run(data_dir, "close", result)


def _check_audit_first(data_dir: Path) -> None:
    """A run the audit log could not record is refused before the engine writes anything
    (exit 2); a data dir not made yet has no key or checkpoint to be wrong."""
    if data_dir.exists():
        _open_for_serving(data_dir)


def _audit_engine_run(data_dir: Path, kind: str, result) -> None:
    """Record an import or close in the audit log as the OS user. Only once the engine has
    returned: the engine never imports Django, and a refused first import must leave no
    data dir (opening the database makes one)."""
    from loanquality.common.runtime import open_database

    with audit_configured():
        open_database(data_dir)
        from loanquality.audit.runs import os_user, record_close, record_import

        recorder = record_import if kind == "import" else record_close
        recorder(result, username=os_user(), via="cli")


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
    from loanquality.common.runtime import serve
    from loanquality.demo import DEMO_PASSWORD, build_demo_bank, demo_users

    try:
        with audit_configured():  # the demo users are added through the audited action
            build_demo_bank(
                data_dir,
                loans=loans,
                months=months,
                seed=seed,
                console=console,
                progress=step_progress,
            )
    except InputRejected as error:
        raise reject(error) from None
    _open_for_serving(data_dir)
    table = Table(title=f"演示用户 demo users (密码 password: {DEMO_PASSWORD})")
    for header in ("用户名 username", "岗位 role", "机构 org"):
        table.add_column(header)
    for row in demo_users(data_dir):
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
    from loanquality.common.runtime import serve

    _open_for_serving(data_dir)
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


def _open_for_serving(data_dir: Path) -> None:
    """Open the database and check the audit key before a page can need it."""
    from loanquality.common.runtime import open_database

    with audit_configured():
        open_database(data_dir)
        from loanquality.audit.actions import check_configuration  # needs Django set up

        check_configuration()


@contextmanager
def audit_configured() -> Iterator[None]:
    """A missing or exposed audit key, or an unreadable checkpoint: said in both languages,
    exit 2 (a traceback would bury it)."""
    from loanquality.audit.keys import AuditConfigError

    try:
        yield
    except AuditConfigError as error:
        err_console.print(f"{error.english}\n{error.chinese}", markup=False)
        raise typer.Exit(2) from None


user_app = typer.Typer(help="Users of the web application. 用户管理。", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    username: str,
    data_dir: DataDir,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[str, typer.Option(help="officer, risk, credit_dept, director, auditor, admin")],
    org: Annotated[str, typer.Option("--org", help="The user's org unit (org_id).")],
    staff_id: Annotated[
        str, typer.Option(help="An officer's id in the staff table (the loans they manage).")
    ] = "",
) -> None:
    """Create a user in an org unit with a role. 新增用户。"""
    from loanquality.common.runtime import open_database

    open_database(data_dir)
    from django.core.exceptions import ValidationError

    from loanquality.accounts.actions import create_user

    try:
        with audit_configured():
            create_user(username, password=password, role=role, org_id=org, staff_id=staff_id)
    except ValidationError as error:
        err_console.print("；".join(error.messages), markup=False)
        raise typer.Exit(2) from None
    console.print(f"已创建用户 created user {username} ({role}, {org})")


@user_app.command("list")
def user_list(data_dir: DataDir) -> None:
    """List users. 用户列表。"""
    from loanquality.common.runtime import open_database

    open_database(data_dir)
    from loanquality.accounts.models import User

    table = Table()
    for header in ("用户名 username", "岗位 role", "机构 org", "状态 active"):
        table.add_column(header)
    for user in User.objects.order_by("username"):
        table.add_row(user.username, user.role, user.org_id, "是" if user.is_active else "停用")
    console.print(table)


@user_app.command("disable")
def user_disable(username: str, data_dir: DataDir) -> None:
    """Disable a user (kept for the audit log). 停用用户。"""
    _act_on_user(data_dir, username, "disable_user")
    console.print(f"已停用 disabled {username}; API tokens revoked / 接口令牌已全部撤销")


@user_app.command("enable")
def user_enable(username: str, data_dir: DataDir) -> None:
    """Let a disabled user log in again. 启用用户。"""
    _act_on_user(data_dir, username, "enable_user")
    console.print(f"已启用 enabled {username}")


@user_app.command("unlock")
def user_unlock(username: str, data_dir: DataDir) -> None:
    """End a user's login lockout now. 解除登录锁定。"""
    _act_on_user(data_dir, username, "unlock_user")
    console.print(f"已解除锁定 unlocked {username}")


def _act_on_user(data_dir: Path, username: str, action: str) -> None:
    """Run one audited action of accounts.actions on an existing user."""
    from loanquality.common.runtime import open_database

    open_database(data_dir)
    from loanquality.accounts import actions  # needs Django set up

    with audit_configured():
        getattr(actions, action)(_existing_user(username))


@user_app.command("password")
def user_password(
    username: str,
    data_dir: DataDir,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a user's password; every API token of theirs is revoked. 重置密码。"""
    from loanquality.common.runtime import open_database

    open_database(data_dir)
    from django.core.exceptions import ValidationError

    from loanquality.accounts.actions import change_password

    try:
        with audit_configured():
            change_password(_existing_user(username), password)
    except ValidationError as error:
        err_console.print("；".join(error.messages), markup=False)
        raise typer.Exit(2) from None
    console.print(
        f"已重置密码 password changed for {username}; API tokens revoked / 接口令牌已全部撤销"
    )


def _existing_user(username: str):
    from loanquality.accounts.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        err_console.print(f"没有用户 no user '{username}'", markup=False)
        raise typer.Exit(2)
    return user


@user_app.command("change")
def user_change(
    username: str,
    data_dir: DataDir,
    role: Annotated[str | None, typer.Option(help="A new role.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="A new org unit (org_id).")] = None,
    staff_id: Annotated[str | None, typer.Option(help="A new staff id.")] = None,
) -> None:
    """Change a user's role, org unit or staff id (audited, before and after). 变更岗位。"""
    from loanquality.common.runtime import open_database

    open_database(data_dir)
    from django.core.exceptions import ValidationError

    from loanquality.accounts.actions import change_post

    user = _existing_user(username)
    try:
        with audit_configured():
            change_post(user, role=role, org_id=org, staff_id=staff_id)
    except ValidationError as error:
        err_console.print("；".join(error.messages), markup=False)
        raise typer.Exit(2) from None
    console.print(f"已变更 changed {username}: {user.role}, {user.org_id}, {user.staff_id or '—'}")


audit_app = typer.Typer(help="The audit log. 审计日志。", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(data_dir: DataDir) -> None:
    """Check the audit log's MAC chain and its checkpoint; exit 1 naming the first edited,
    forged or deleted entry. 校验审计日志是否被篡改。"""
    from loanquality.common.runtime import open_database

    with audit_configured():
        open_database(data_dir)
        from loanquality.audit.actions import verify_log

        result = verify_log()
    if result.broken is not None:
        where = f" at entry #{result.broken.seq}" if result.broken.seq else ""
        err_console.print(
            f"审计日志校验失败 audit log broken{where}: "
            f"{result.broken.english}\n    {result.broken.chinese}",
            markup=False,
        )
        raise typer.Exit(1)
    console.print(
        f"审计日志完整 audit log intact: {result.entries:,} entries / 条, "
        f"head MAC / 末条校验码 {result.head_mac}"
    )


if __name__ == "__main__":
    app()
