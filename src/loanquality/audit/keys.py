"""The audit key: the secret the chain's MACs are made with, kept out of the database.

``LOANQUALITY_AUDIT_KEY`` holds the key itself, or ``LOANQUALITY_AUDIT_KEY_FILE`` names a
file holding it (mode 0600, outside the data dir); without either the file is
``$XDG_CONFIG_HOME/loanquality/audit.key`` (``~/.config/…``). The file is created, with a
random key, by the first audited change of a log that has no checkpoint yet; once a
checkpoint exists a missing key is an error, never a new key.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from django.conf import settings

from loanquality.common.errors import Misconfigured

KEY_ENV = "LOANQUALITY_AUDIT_KEY"
KEY_FILE_ENV = "LOANQUALITY_AUDIT_KEY_FILE"
MIN_KEY_LENGTH = 32


class AuditConfigError(Misconfigured):
    """The key or the checkpoint is set up wrong: said in English and in Chinese."""


def audit_key(*, may_create: bool) -> bytes:
    """The key; ``may_create`` lets a missing key file be made (a log not checkpointed yet)."""
    if text := os.environ.get(KEY_ENV):
        return _long_enough(text, KEY_ENV)
    path = key_file()
    if not path.exists():
        if not may_create:
            raise AuditConfigError(
                f"the audit key {path} is missing, but the audit log has a checkpoint: restore "
                f"the key file (or set {KEY_ENV} / {KEY_FILE_ENV}); a new key cannot vouch "
                "for the rows already written",
                f"审计密钥 {path} 缺失，但审计日志已有检查点：请恢复密钥文件（或设置 {KEY_ENV} / "
                f"{KEY_FILE_ENV}）；新密钥无法证明已写入的记录",
            )
        _create(path)
    return _read(path)


def key_file() -> Path:
    if named := os.environ.get(KEY_FILE_ENV):
        path = Path(named).expanduser()
    else:
        path = _config_dir() / "loanquality" / "audit.key"
    if path.resolve().is_relative_to(Path(settings.DATA_DIR).resolve()):
        raise AuditConfigError(
            f"the audit key file {path} is inside the data dir: whoever copies the data dir "
            f"could forge the log; keep it elsewhere ({KEY_FILE_ENV})",
            f"审计密钥文件 {path} 位于数据目录内：拿到数据目录的人即可伪造日志；"
            f"请放到数据目录以外（{KEY_FILE_ENV}）",
        )
    return path


def _config_dir() -> Path:
    if xdg := os.environ.get("XDG_CONFIG_HOME"):
        return Path(xdg)
    try:
        return Path.home() / ".config"
    except RuntimeError:
        raise AuditConfigError(
            f"no home directory to keep the audit key in: set {KEY_FILE_ENV}",
            f"没有可存放审计密钥的主目录：请设置 {KEY_FILE_ENV}",
        ) from None


def _create(path: Path) -> None:
    """A random key, written whole under a temporary name and linked into place, so two
    processes starting at once agree on one key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.close(descriptor)
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made it first: theirs is the key
    finally:
        draft.unlink(missing_ok=True)


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise AuditConfigError(
            f"the audit key file {path} can be read by others (mode {mode:04o}): chmod 600 {path}",
            f"审计密钥文件 {path} 可被他人读取（权限 {mode:04o}）：请执行 chmod 600 {path}",
        )
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise AuditConfigError(
            f"the audit key file {path} cannot be read: {error.strerror}",
            f"无法读取审计密钥文件 {path}：{error.strerror}",
        ) from None
    return _long_enough(text, str(path))


def _long_enough(text: str, source: str) -> bytes:
    if len(text) < MIN_KEY_LENGTH:
        raise AuditConfigError(
            f"the audit key in {source} is shorter than {MIN_KEY_LENGTH} characters",
            f"{source} 中的审计密钥不足 {MIN_KEY_LENGTH} 个字符",
        )
    return text.encode("utf-8")
