"""What every ``loanquality`` command group shares: the consoles, the ``--data-dir`` and
``--as-of`` options, progress, and the refusals said in both languages with exit 2.

A group whose commands work on the database (users, the audit log, the workflows) is made
with ``django_group``: each of its commands opens the database of its ``--data-dir`` and
runs the apps' start-up checks (the audit key …) once, before its body runs, and the refusals of the
actions it calls end it with their message and exit 2. A new app's group::

    # src/loanquality/collection/cli.py
    app = django_group("collection", "NPL collection. 不良贷款清收。")

    @app.command("assign")
    def assign(data_dir: DataDir, file: Path) -> None:
        from loanquality.collection.actions import assign_from_file  # Django is set up
        ...

and one line in ``loanquality.cli.GROUPS``. Nothing here imports Django at import time:
``loanquality --help`` starts no Django.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from loanquality.engine.problems import InputRejected

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

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
def step_progress(total: int) -> Iterator[Callable[[str], None]]:
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
    """Every problem of the input, in both languages; the command exits 2."""
    err_console.print(str(error), markup=False, highlight=False)
    err_console.print("Nothing was written. / 未写入任何数据。", style="bold red")
    return typer.Exit(2)


def fail(message: str) -> typer.Exit:
    """A refusal of the command's own (no such user …): said, exit 2."""
    err_console.print(message, markup=False)
    return typer.Exit(2)


@contextmanager
def audit_configured() -> Iterator[None]:
    """A setting the system cannot run with (a missing or exposed audit key, an unreadable
    checkpoint): said in both languages, exit 2 (a traceback would bury it)."""
    from loanquality.common.errors import Misconfigured

    try:
        yield
    except Misconfigured as error:
        err_console.print(f"{error.english}\n{error.chinese}", markup=False)
        raise typer.Exit(2) from None


@contextmanager
def refusals() -> Iterator[None]:
    """What an action refuses, ended with its message and exit 2 rather than a traceback:
    ``InputRejected`` (every problem, both languages), ``ValidationError`` and
    ``PermissionDenied`` (the actions' Chinese reasons), ``Misconfigured``."""
    from django.core.exceptions import PermissionDenied, ValidationError

    with audit_configured():
        try:
            yield
        except InputRejected as error:
            raise reject(error) from None
        except ValidationError as error:
            raise fail("；".join(error.messages)) from None
        except PermissionDenied as error:
            raise fail(str(error) or "没有权限 permission denied") from None


def open_checked(data_dir: Path) -> None:
    """Open the database of ``data_dir`` (Django set up, migrations applied) and run every
    app's start-up check (the audit key and checkpoint …), before anything can need them
    (exit 2 when one fails)."""
    from loanquality.common.runtime import check_startup, open_database

    with audit_configured():
        open_database(data_dir)
        check_startup()


class DjangoGroup(typer.Typer):
    """A Typer group each of whose commands takes ``--data-dir`` and runs on its database:
    ``open_checked`` first, then the body inside ``refusals``. Register commands with
    ``@group.command(...)`` as on any Typer app; import models and actions inside the
    body (Django is set up by then)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable], Callable]:
        register = super().command(*args, **kwargs)

        def decorator(body: Callable) -> Callable:
            register(on_database(body))
            return body

        return decorator


def on_database(body: Callable) -> Callable:
    """``body``, run once the database of its ``data_dir`` argument is open and checked,
    its refusals ending it with exit 2. Typer reads the parameters of ``body`` (through
    ``functools.wraps``) and passes them by name."""

    @functools.wraps(body)
    def command(**arguments: Any) -> Any:
        open_checked(arguments["data_dir"])
        with refusals():
            return body(**arguments)

    if "data_dir" not in inspect.signature(body).parameters:
        raise TypeError(f"{body.__name__}: a Django command takes data_dir: DataDir")
    return command


def django_group(name: str, help: str) -> DjangoGroup:
    """A command group on the database, ``loanquality NAME COMMAND --data-dir D …``; wire it
    in by adding it to ``loanquality.cli.GROUPS``."""
    return DjangoGroup(name=name, help=help, no_args_is_help=True)
