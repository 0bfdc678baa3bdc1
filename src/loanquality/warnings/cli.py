"""``loanquality warnings …``: early-warning cases from the command line."""

from __future__ import annotations

from loanquality.common.cli import DataDir, console, django_group

app = django_group("warnings", "Early-warning cases. 贷后预警事项。")


@app.command("sync")
def warnings_sync(data_dir: DataDir) -> None:
    """Open and update the cases of the newest close's signals, if not done yet (its close
    does it; this catches up after a failure), and escalate the overdue cases.
    预警信号入案（若尚未入案）并升级逾期预警。"""
    from loanquality.audit.runs import cli_operator
    from loanquality.warnings.sync import ensure_synced, escalate_overdue, newest_close

    operator = cli_operator()
    newest = newest_close()
    result = ensure_synced(actor=operator)
    if result is None:
        where = f"{newest[0]}" if newest else "—"
        console.print(f"预警已是最新 cases already hold the newest close's signals ({where})")
    else:
        console.print(
            f"预警入案 synced {newest[0]}: 新立案 opened {result.opened:,}, "
            f"更新 updated {result.updated:,}, 升级 escalated {result.escalated:,}"
        )
    escalated = escalate_overdue()
    console.print(f"逾期升级 escalated now: {escalated:,}")
