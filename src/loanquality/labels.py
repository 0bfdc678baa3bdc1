"""Every code the pages, exports and API show, with its Chinese name: the one place to look.

The five categories and customer types are defined in ``engine.schema`` (the import reads
them there) and the rule names in ``engine.rules``; this module adds the industries and
gathers them all, so a screen never shows a bare code.
"""

from __future__ import annotations

from functools import cache

from loanquality.engine.rules import RULE_LABELS, load_ruleset, shipped_rulesets
from loanquality.engine.schema import CATEGORY_LABELS, CUSTOMER_TYPE_LABELS

# GB/T 4754-2017 国民经济行业分类, the sections (门类)
INDUSTRY_LABELS = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}

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
