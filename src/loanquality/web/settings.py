"""Django settings, read from the environment (one place).

LOANQUALITY_DATA_DIR  the data directory (lake, uploads, SQLite file); default ./data
DATABASE_URL          e.g. postgres://user@127.0.0.1:5432/loanquality; default SQLite in
                      the data dir
SECRET_KEY            default: generated once and kept in <data dir>/secret_key (a process
                      on a data dir not made yet keeps it in memory, and writes it when
                      it makes the data dir: see common.runtime.open_database)
LOANQUALITY_DEBUG     1 for development
ALLOWED_HOSTS         comma separated; default 127.0.0.1,localhost
LOANQUALITY_OVERRIDE_DIRECTOR_ABOVE
                      a 认定 of a loan with a balance above this (元) needs a director;
                      default 5000000
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LOANQUALITY_DATA_DIR", "data")).resolve()


SECRET_KEY_FILE = DATA_DIR / "secret_key"


def _secret_key() -> str:
    """From the environment, else the data dir's key file (made now if the data dir exists);
    a data dir not made yet is not made for its key: only what is written into it makes it
    (a refused first import must leave none)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    if not DATA_DIR.exists():
        return secrets.token_urlsafe(50)
    if not SECRET_KEY_FILE.exists():
        SECRET_KEY_FILE.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        SECRET_KEY_FILE.chmod(0o600)
    return SECRET_KEY_FILE.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("LOANQUALITY_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",  # so the API's docs render our template (vendored Swagger UI), never a CDN
    "loanquality.accounts",
    "loanquality.audit",
    "loanquality.portfolio",
    "loanquality.operations",
    "loanquality.overrides",
    "loanquality.warnings",
    "loanquality.common",  # no models: the print layout (templates/common, static/common)
    "loanquality.web",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "loanquality.web.middleware.SecurityHeaders",  # after WhiteNoise: static files cache
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "loanquality.web.middleware.PagesRequireLogin",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "loanquality.web.urls"
WSGI_APPLICATION = "loanquality.web.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "loanquality.web.context_processors.inbox",  # 我的待办's count in the navigation
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'loanquality.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # a writing transaction takes the lock at its start, so two never deadlock halfway
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["loanquality.accounts.backends.LockoutBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "loanquality.accounts.passwords.MinimumLengthValidator"},  # in Chinese
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_AGE = 8 * 60 * 60  # one working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send the token
LOGIN_FAILURE_LIMIT = 5
LOGIN_LOCK_MINUTES = 15
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [  # larger files go to disk, no further than the upload limit
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "loanquality.common.uploads.BoundedUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG  # `serve` collects static files first
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

OVERRIDE_DIRECTOR_ABOVE = os.environ.get("LOANQUALITY_OVERRIDE_DIRECTOR_ABOVE", "5000000")
if not OVERRIDE_DIRECTOR_ABOVE.replace(".", "", 1).isdigit():
    raise ImproperlyConfigured(
        f"LOANQUALITY_OVERRIDE_DIRECTOR_ABOVE must be an amount in 元, not "
        f"'{OVERRIDE_DIRECTOR_ABOVE}' / 应为金额（元）"
    )
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024

CLOSE_IN_BACKGROUND = True  # a close runs in a thread of the server; its page polls the progress
