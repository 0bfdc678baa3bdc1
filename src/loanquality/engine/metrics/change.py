"""Change of NPL against the previous close and the year's opening, and its exact split.

The ratio change splits exactly into what the NPL balance did and what the loan
book did (SPEC §5):

    NPL_t/L_t − NPL_p/L_p = (NPL_t − NPL_p)/L_t  +  (NPL_p/L_t − NPL_p/L_p)
                            numerator effect       denominator effect

so a ratio that fell while NPL rose (``npl_masked_by_growth``) is seen for what it is.
"""

from __future__ import annotations

import ibis

from loanquality.engine.metrics.base import Metric, Period, ratio


def _metrics(suffix: str, against: str) -> tuple[Metric, ...]:
    return (
        Metric(
            f"npl_balance_change{suffix}", f"不良贷款余额变动（{against}）", "yuan", "NPL_t − NPL_p"
        ),
        Metric(
            f"npl_ratio_change{suffix}",
            f"不良贷款率变动（{against}）",
            "ratio",
            "NPL_t/L_t − NPL_p/L_p",
        ),
        Metric(
            f"npl_ratio_change_numerator{suffix}",
            f"不良率变动：不良余额因素（{against}）",
            "ratio",
            "(NPL_t − NPL_p) / L_t",
        ),
        Metric(
            f"npl_ratio_change_denominator{suffix}",
            f"不良率变动：贷款规模因素（{against}）",
            "ratio",
            "NPL_p/L_t − NPL_p/L_p",
        ),
        Metric(
            f"npl_masked_by_growth{suffix}",
            f"不良余额上升而不良率下降（{against}）",
            "flag",
            "npl_ratio_change < 0 and npl_balance_change > 0",
        ),
    )


METRICS = (
    *_metrics("", "比上期"),
    *_metrics("_ytd", "比年初"),
    Metric(
        "npl_ratio_above_redline",
        "不良率已超红线",
        "ratio",
        "the highest red line (1 %, 2 %, 5 %) the ratio has reached or passed; empty when none",
    ),
    Metric(
        "npl_ratio_near_redline",
        "不良率贴近红线",
        "flag",
        "the ratio sits within the band (0.05 pp) just below a red line (1 %, 2 %, 5 %)",
    ),
)


def finish(s: ibis.Table, period: Period) -> dict[str, ibis.Value]:
    """``s`` carries this close's ``npl_balance``/``balance`` and, joined by group, the previous
    close's (``prev_*``) and the year's opening (``base_*``)."""
    values: dict[str, ibis.Value] = {}
    for suffix, prefix in (("", "prev_"), ("_ytd", "base_")):
        npl_p, loans_p = s[f"{prefix}npl_balance"], s[f"{prefix}balance"]
        npl_t, loans_t = s.npl_balance, s.balance
        change = ratio(npl_t, loans_t) - ratio(npl_p, loans_p)
        balance_change = npl_t - npl_p
        values |= {
            f"npl_balance_change{suffix}": balance_change,
            f"npl_ratio_change{suffix}": change,
            f"npl_ratio_change_numerator{suffix}": ratio(npl_t - npl_p, loans_t),
            f"npl_ratio_change_denominator{suffix}": ratio(npl_p, loans_t) - ratio(npl_p, loans_p),
            f"npl_masked_by_growth{suffix}": (change < 0) & (balance_change > 0),
        }
    npl_ratio = ratio(s.npl_balance, s.balance)
    values["npl_ratio_above_redline"] = _highest_line_passed(npl_ratio, period.red_lines)
    near = ibis.literal(False)
    for line in period.red_lines:
        near = near | ((npl_ratio < line) & (npl_ratio >= line - period.red_line_band))
    values["npl_ratio_near_redline"] = near.fill_null(False)
    return values


def _highest_line_passed(npl_ratio: ibis.Value, red_lines: tuple[float, ...]) -> ibis.Value:
    """The highest red line with ``npl_ratio`` ≥ it, null below them all. A ratio exactly on
    a line has passed it: the near band stops just short of the line (``<``), so every
    ratio from a band's bottom up is flagged one way or the other."""
    none = ibis.null("float64")
    if not red_lines:
        return none
    highest_first = sorted(red_lines, reverse=True)
    return ibis.cases(
        *((npl_ratio >= line, ibis.literal(line, "float64")) for line in highest_first),
        else_=none,
    )
