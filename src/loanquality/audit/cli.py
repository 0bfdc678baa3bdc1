"""``loanquality audit …``: the audit log."""

from __future__ import annotations

import typer

from loanquality.common.cli import DataDir, console, django_group, err_console

app = django_group("audit", "The audit log. 审计日志。")


@app.command("verify")
def audit_verify(data_dir: DataDir) -> None:
    """Check the audit log's MAC chain and its checkpoint; exit 1 naming the first edited,
    forged or deleted entry. 校验审计日志是否被篡改。"""
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
