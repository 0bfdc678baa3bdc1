"""Settings for the test suite: the real settings, with a throw-away data dir and key."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("LOANQUALITY_AUDIT_KEY", "tests-only-audit-key-not-a-secret-0123")
os.environ.setdefault("LOANQUALITY_DATA_DIR", tempfile.mkdtemp(prefix="loanquality-tests-"))

from loanquality.web.settings import *  # noqa: F403

# closes run inside the request, so a test sees the finished run (the server uses a thread)
CLOSE_IN_BACKGROUND = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405  (the Django test client's host)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (pages are tested, not files)
WHITENOISE_USE_FINDERS = True
