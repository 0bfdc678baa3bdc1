"""Every code the pages, exports and API show, with its Chinese name: the one place to look.

The five categories, customer types and industries are defined in ``engine.schema`` (the
import and the close's group labels read them there) and the rule names in
``engine.rules``; this module gathers them all, so a screen never shows a bare code.
"""

from __future__ import annotations

from functools import cache

from loanquality.engine.rules import RULE_LABELS, load_ruleset, shipped_rulesets
from loanquality.engine.schema import CATEGORY_LABELS, CUSTOMER_TYPE_LABELS, INDUSTRY_LABELS

__all__ = ["CATEGORY_LABELS", "CUSTOMER_TYPE_LABELS", "INDUSTRY_LABELS", "rule_labels"]


@cache
def rule_labels() -> dict[str, str]:
    """Every rule code a shipped rule set can write into ``reasons``, with its Chinese name,
    the overdue bands shallowest first."""
    bands: dict[str, tuple[int, str]] = {}
    for name in shipped_rulesets():
        for band in load_ruleset(name).overdue:
            label = band.label if band.days_over else "本金或利息逾期"
            bands[band.code] = (band.days_over, label)
    ordered = sorted(bands.items(), key=lambda item: item[1][0])
    return {code: label for code, (_, label) in ordered} | RULE_LABELS
