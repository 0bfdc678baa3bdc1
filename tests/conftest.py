import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module", autouse=True)
def cli_unaudited_in_process():
    """``loanquality import`` and ``close`` write their audit row through Django; run in
    this process (typer's CliRunner) they would reach the database pytest-django guards.
    Their audit rows are tested through a real process in test_audit_cli.py."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("loanquality.cli._check_audit_first", lambda data_dir: None)
        patch.setattr("loanquality.cli._audit_engine_run", lambda data_dir, kind, result: None)
        yield
