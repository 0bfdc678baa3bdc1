"""The command groups: a Django group's command opens its data dir's database before its
body and ends an action's refusal with the message and exit 2; every group's commands run
on a real data dir; ``import`` and ``close`` go through operations.actions, each writing
one audit row as the OS user, ``via="cli"``."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys

import pytest
import typer
from django.core.exceptions import PermissionDenied, ValidationError
from typer.testing import CliRunner

from loanquality.accounts import cli as accounts_cli
from loanquality.audit.keys import AuditConfigError
from loanquality.common import cli as common_cli
from loanquality.common.cli import DataDir, django_group
from loanquality.engine.lake import Lake
from loanquality.engine.problems import file_rejected
from loanquality.operations import cli as operations_cli
from loanquality.synth.generator import generate_bank

# taken before tests/conftest.py swaps it for a stand-in without the audit row
real_as_os_user = operations_cli.as_os_user
runner = CliRunner()


def toy_group(refusal: Exception | None, seen: list):
    """A one-command group whose body notes what it saw and raises ``refusal``."""
    group = django_group("toy", "A group for the test.")

    @group.command("act")
    def act(data_dir: DataDir, name: str = "x") -> None:
        seen.append(("body", data_dir.name, name))
        if refusal is not None:
            raise refusal
        common_cli.console.print("done / 完成")

    app = typer.Typer()
    app.add_typer(group)
    return app


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        (ValidationError("未知岗位角色「boss」"), ["未知岗位角色「boss」"]),
        (PermissionDenied("只有信贷管理部可以导入数据"), ["只有信贷管理部可以导入数据"]),
        (
            file_rejected("loans.csv", "no loan_id column", "缺少借据号列"),
            ["no loan_id column", "缺少借据号列", "未写入任何数据"],
        ),
        (
            AuditConfigError("the audit key is lost", "审计密钥缺失"),
            ["the audit key is lost", "审计密钥缺失"],
        ),
    ],
    ids=["validation", "permission", "input", "audit-config"],
)
def test_a_django_commands_refusal_is_said_and_exits_2(monkeypatch, tmp_path, refusal, said):
    # given: a group command whose database opening is noted instead of done
    seen = []
    monkeypatch.setattr(
        common_cli, "open_checked", lambda data_dir: seen.append(("open", data_dir.name))
    )
    app = toy_group(refusal, seen)
    # when
    result = runner.invoke(app, ["toy", "act", "--data-dir", str(tmp_path / "data"), "--name", "y"])
    # then: opened once, before the body; the refusal said, exit 2, no traceback
    assert seen == [("open", "data"), ("body", "data", "y")]
    assert result.exit_code == 2, result.output
    for text in said:
        assert text in result.output
    assert "Traceback" not in result.output


def test_a_django_command_that_succeeds_prints_and_exits_0(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(
        common_cli, "open_checked", lambda data_dir: seen.append(("open", data_dir.name))
    )
    result = runner.invoke(toy_group(None, seen), ["toy", "act", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "done / 完成" in result.output
    assert [step for step, *_ in seen] == ["open", "body"]


def test_a_django_command_must_take_the_data_dir():
    group = django_group("toy", "A group for the test.")
    with pytest.raises(TypeError, match="data_dir"):

        @group.command("nowhere")
        def nowhere(name: str) -> None: ...


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("groups")
    return generate_bank(root / "files", loans=100, months=1, seed=7)


@pytest.mark.django_db
def test_a_cli_import_and_close_each_write_one_audit_row_through_the_actions(
    bank, tmp_path, monkeypatch, settings
):
    """In this process: the command's real path to operations.actions (Django is already
    started on the test database, so starting and opening are noted, not done). The first
    import's database is opened only once the lake has published it."""
    from loanquality.audit.models import AuditEntry

    # given: a data dir not made yet, the settings pointing at it
    data_dir = tmp_path / "data"
    settings.DATA_DIR = data_dir
    as_of = bank.as_ofs[0]
    opened = []
    monkeypatch.setattr(operations_cli, "as_os_user", real_as_os_user)
    monkeypatch.setattr(operations_cli, "setup_django", lambda d: opened.append(("settings", d)))
    monkeypatch.setattr(operations_cli, "open_checked", lambda d: opened.append(("checked", d)))
    monkeypatch.setattr(
        operations_cli,
        "open_database",
        lambda d: opened.append(("database", Lake(d).has("loans", as_of))),
    )
    files = [f"--{table}={path}" for table, path in bank.files(as_of).items()]
    # when
    imported = runner.invoke(
        operations_cli.app, ["import", "--data-dir", str(data_dir), "--as-of", str(as_of), *files]
    )
    # then: settings first, the database once the loans were published, one row
    assert imported.exit_code == 0, imported.output
    assert opened == [("settings", data_dir), ("database", True)]
    rows = list(AuditEntry.objects.values("username", "action", "target", "org_id", "detail"))
    assert [(r["username"], r["action"], r["target"], r["org_id"]) for r in rows] == [
        (getpass.getuser(), "import", str(as_of), "L0000")
    ]
    assert rows[0]["detail"]["via"] == "cli"
    assert rows[0]["detail"]["import_id"] == Lake(data_dir).import_log()[0]["import_id"]
    # when: the close of an existing data dir
    closed = runner.invoke(
        operations_cli.app, ["close", "--data-dir", str(data_dir), "--as-of", str(as_of)]
    )
    # then: checked before the engine ran, one more row
    assert closed.exit_code == 0, closed.output
    assert opened[2:] == [("checked", data_dir)]
    close_rows = list(AuditEntry.objects.filter(action="close").values("username", "detail"))
    assert len(close_rows) == 1
    assert close_rows[0]["username"] == getpass.getuser()
    assert close_rows[0]["detail"]["via"] == "cli"
    assert close_rows[0]["detail"]["close_id"] == Lake(data_dir).close_log()[0]["close_id"]
    # and after it the warnings app's hook opened the close's cases, as the same user
    actions = AuditEntry.objects.order_by("seq").values_list("action", "username")
    assert list(actions) == [
        ("import", getpass.getuser()),
        ("close", getpass.getuser()),
        ("warning.sync", getpass.getuser()),
    ]


def loanquality(*args: str, data_dir, secret_key: bool = True) -> subprocess.CompletedProcess:
    """The command in its own process, the audit key beside (not inside) the data dir."""
    hidden = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY")
    env = {k: v for k, v in os.environ.items() if k not in hidden and "_AUDIT_" not in k}
    if secret_key:
        env["SECRET_KEY"] = "cli-groups-test"
    env["LOANQUALITY_AUDIT_KEY_FILE"] = str(data_dir.parent / "audit.key")
    command = [sys.executable, "-m", "loanquality.cli", *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def test_every_group_runs_on_a_real_data_dir(bank, tmp_path):
    """import and close (top level), user and audit (groups), in their own processes
    without SECRET_KEY, as a bank runs them: the log holds import, close, user.create."""
    # given
    data_dir = tmp_path / "data"
    as_of = bank.as_ofs[0]
    files = [f"--{table}={path}" for table, path in bank.files(as_of).items()]
    # when / then
    for command in (
        ["import", "--as-of", str(as_of), *files],
        ["close", "--as-of", str(as_of)],
        ["user", "add", "carol", "--password", "a-long-password-1", "--role", "risk",
         "--org", "L0000"],
    ):  # fmt: skip
        done = loanquality(*command, data_dir=data_dir, secret_key=False)
        assert done.returncode == 0, (command, done.stderr)
    listed = loanquality("user", "list", data_dir=data_dir, secret_key=False)
    assert listed.returncode == 0, listed.stderr
    assert "carol" in listed.stdout
    verified = loanquality("audit", "verify", data_dir=data_dir, secret_key=False)
    assert verified.returncode == 0, verified.stderr
    # the import, the close, the warnings it opened (the close's after-close hook), carol
    assert "audit log intact: 4 entries" in verified.stdout


def test_a_user_commands_validation_error_exits_2_with_its_message(bank, tmp_path):
    """The action refuses (an unknown role, a user that does not exist): its Chinese
    reason, exit 2, no traceback, and nothing in the audit log."""
    data_dir = tmp_path / "data"
    as_of = bank.as_ofs[0]
    loans = bank.files(as_of)["loans"]
    orgs = bank.files(as_of)["orgs"]
    imported = loanquality(
        "import", "--as-of", str(as_of), "--loans", str(loans), "--orgs", str(orgs),
        data_dir=data_dir,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    refused = loanquality(
        "user", "add", "dave", "--password", "a-long-password-1", "--role", "boss",
        "--org", "L0000", data_dir=data_dir,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "未知岗位角色「boss」" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = loanquality("user", "disable", "nobody", data_dir=data_dir)
    assert missing.returncode == 2
    assert "没有用户 no user 'nobody'" in missing.stderr
    verified = loanquality("audit", "verify", data_dir=data_dir)
    assert "audit log intact: 1 entries" in verified.stdout  # the import alone


def test_a_refused_first_import_without_a_secret_key_leaves_no_data_dir(tmp_path):
    """Django's settings write the data dir's secret key when SECRET_KEY is unset: the
    command starts them without making the data dir the engine then refuses."""
    bad = tmp_path / "loans.csv"
    bad.write_text("借据号\nX1\n", encoding="utf-8")
    refused = loanquality(
        "import", "--as-of", "2024-01-31", "--loans", str(bad), data_dir=tmp_path / "data",
        secret_key=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "未写入任何数据" in refused.stderr
    assert not (tmp_path / "data").exists()


def test_the_user_group_is_wired_in():
    """``loanquality user --help`` lists the group's commands (the group made by
    django_group, wired in by loanquality.cli.GROUPS)."""
    from loanquality.cli import GROUPS, app

    assert accounts_cli.app in GROUPS
    result = runner.invoke(app, ["user", "--help"])
    assert result.exit_code == 0
    for command in ("add", "list", "disable", "enable", "unlock", "password", "change"):
        assert command in result.output


@pytest.mark.django_db
def test_user_changes_from_the_command_line_are_audited_as_the_os_user(
    bank, tmp_path, monkeypatch, settings
):
    """In this process, on the test database: each user command's audit row names the OS
    user and ``via: cli`` (it had no actor at all)."""
    from loanquality.audit.models import AuditEntry
    from loanquality.engine.ingest import import_as_of

    as_of = bank.as_ofs[0]
    import_as_of(tmp_path / "data", as_of, bank.files(as_of))  # the org tree users join
    settings.DATA_DIR = tmp_path / "data"
    monkeypatch.setenv("LOANQUALITY_AUDIT_CHECKPOINT", str(tmp_path / "audit_checkpoint.jsonl"))
    monkeypatch.setattr(common_cli, "open_checked", lambda data_dir: None)  # already open
    data_dir = str(tmp_path / "data")
    commands = (
        ["add", "erin", "--data-dir", data_dir, "--password", "a-long-password-1",
         "--role", "risk", "--org", "L0000"],
        ["disable", "erin", "--data-dir", data_dir],
        ["enable", "erin", "--data-dir", data_dir],
        ["change", "erin", "--data-dir", data_dir, "--role", "auditor"],
    )  # fmt: skip
    for command in commands:
        done = runner.invoke(accounts_cli.app, command)
        assert done.exit_code == 0, (command, done.output)
    rows = AuditEntry.objects.order_by("seq")
    assert [(r.action, r.username, r.user_id, r.detail["via"]) for r in rows] == [
        ("user.create", getpass.getuser(), None, "cli"),
        ("user.disable", getpass.getuser(), None, "cli"),
        ("user.enable", getpass.getuser(), None, "cli"),
        ("user.change", getpass.getuser(), None, "cli"),
    ]
    assert rows.last().detail["after"]["role"] == "auditor"
