import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module", autouse=True)
def cli_unaudited_in_process():
    """``loanquality import`` and ``close`` run ``operations.actions`` on their data dir's
    database; run in this process (typer's CliRunner) that is the database pytest-django
    guards. Here they run the same actions, with the settings pytest-django started, minus
    the audit row and the check for unpublished approvals. Their audit rows are tested
    through a real process in test_audit_cli.py and test_cli_groups.py."""

    def unaudited(data_dir, action, *args, **kwargs):
        from loanquality.operations import actions

        with pytest.MonkeyPatch.context() as inner:
            inner.setattr(actions, "_record_run", lambda *args, **detail: None)
            # no approval can be pending where there is no database
            inner.setattr(actions, "approvals_to_apply", lambda dates, data_dir=None: (dates, []))
            inner.setattr(actions, "applied", lambda actor, rows: [])
            operator = actions.Operator("tests", via="cli")
            return getattr(actions, action)(operator, *args, data_dir=data_dir, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("loanquality.operations.cli.as_os_user", unaudited)
        yield
