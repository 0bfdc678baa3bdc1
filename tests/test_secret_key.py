"""The secret key: made with the data dir, never making it."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
from pathlib import Path
from loanquality.common.runtime import open_database, setup_django
data = Path(sys.argv[1])
setup_django(data)
from django.conf import settings
print(data.exists())
open_database(data)
print((data / "secret_key").read_text() == settings.SECRET_KEY)
"""


def test_settings_make_no_data_dir_and_opening_it_keeps_the_key_in_use(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["LOANQUALITY_AUDIT_KEY_FILE"] = str(tmp_path / "audit.key")
    data = tmp_path / "new-data"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # starting Django made nothing; opening the database wrote the key the process signs with
    assert done.stdout.split() == ["False", "True"]
    assert (data / "secret_key").stat().st_mode & 0o777 == 0o600
