"""Loan-loss provisions (拨备): required by category against held."""

from __future__ import annotations

import ibis

from loanquality.engine.metrics.base import Metric, Period, balance_if, ratio

METRICS = (
    Metric(
        "provision_required",
        "应提贷款损失准备",
        "yuan",
        "Σ balance × rate of its category (关注 2 %, 次级 25 %, 可疑 50 %, 损失 100 %)",
    ),
    Metric(
        "provision_held",
        "贷款损失准备余额",
        "yuan",
        "provisions held by the orgs of the group (an org's provision covers its subtree)",
    ),
    Metric("provision_coverage", "拨备覆盖率", "ratio", "provision_held / npl_balance"),
    Metric("provision_ratio", "贷款拨备率", "ratio", "provision_held / balance"),
    Metric("provision_adequacy", "准备金充足率", "ratio", "provision_held / provision_required"),
)


def current_parts(t: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    required = ibis.literal(0.0)
    for category, rate in period.provision_rates.items():
        if rate:
            required = required + balance_if(t, t.final_category == category) * rate
    return {"provision_required": required}


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    return {
        "provision_coverage": ratio(s.provision_held, s.npl_balance),
        "provision_ratio": ratio(s.provision_held, s.balance),
        "provision_adequacy": ratio(s.provision_held, s.provision_required),
    }
