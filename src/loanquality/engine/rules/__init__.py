"""Rule sets: versioned TOML files of classification rules and thresholds (SPEC §4).

A rule set names the overdue bands, which rules apply to retail and to
non-retail loans, and the parameters of each rule. Its SHA-256 goes with
every result so a close can say exactly which rules it used.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from loanquality.engine.problems import InputRejected, Problem

DEFAULT_RULESET = "cn-2023"
OVERDUE = "OD"
# Chinese labels of the rules other than the overdue bands (those are labelled from their days)
RULE_LABELS = {
    "IMP": "已发生信用减值",
    "ECL50": "预期信用损失占比达到可疑标准",
    "ECL90": "预期信用损失占比达到损失标准",
    "EXT": "展期",
    "RNW": "借新还旧，原贷款上期逾期或不良",
    "RST": "重组观察期内",
    "RSTOD": "重组观察期内再次逾期",
    "BOR": "非零售债务人在本行不良贷款占比超过阈值",
    "EXTB": "非零售债务人在所有银行逾期90天以上债务占比超过阈值",
    "UPG": "原为不良，尚未满足上调条件",
    "MAN": "人工认定",
}
RULE_CODES = frozenset((OVERDUE, *RULE_LABELS))
DEFAULT_PARAMETERS = {
    "ecl50_share": 0.50,
    "ecl90_share": 0.90,
    "observation_months": 12,
    "borrower_npl_share": 0.10,
    "bureau_overdue90_share": 0.20,
    "cure_months": 6,
    "cure_installments": 2,
}


@dataclass(frozen=True)
class OverdueBand:
    code: str
    days_over: int
    category: int

    @property
    def label(self) -> str:
        return f"逾期超过{self.days_over}天"


@dataclass(frozen=True)
class RuleSet:
    name: str
    label: str
    overdue: tuple[OverdueBand, ...]  # shallowest first
    retail_rules: frozenset[str]
    non_retail_rules: frozenset[str]
    parameters: dict[str, float]
    sha256: str

    def applies_to_retail(self, code: str) -> bool:
        return code in self.retail_rules

    def applies_to_non_retail(self, code: str) -> bool:
        return code in self.non_retail_rules

    def uses(self, code: str) -> bool:
        return code in self.retail_rules or code in self.non_retail_rules

    def labels(self) -> dict[str, str]:
        """Every code this rule set can put in ``reasons``, with its Chinese label."""
        return {b.code: b.label for b in self.overdue} | {
            code: label for code, label in RULE_LABELS.items() if self.uses(code)
        }


def shipped_rulesets() -> list[str]:
    folder = resources.files(__package__)
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_ruleset(name_or_path: str | Path = DEFAULT_RULESET) -> RuleSet:
    """Load a shipped rule set by name, or a bank's own rule-set file by path."""
    if str(name_or_path) in shipped_rulesets():
        source = resources.files(__package__) / f"{name_or_path}.toml"
        file_name = f"{name_or_path}.toml"
        data = source.read_bytes()
    else:
        path = Path(name_or_path)
        file_name = path.name
        if not path.is_file():
            raise _bad(
                file_name,
                f"no such rule set (shipped: {', '.join(shipped_rulesets())})",
                f"规则集不存在（内置：{'、'.join(shipped_rulesets())}）",
            )
        data = path.read_bytes()
    try:
        spec = tomllib.loads(data.decode("utf-8"))
        bands = tuple(
            sorted(
                (
                    OverdueBand(str(b["code"]), int(b["days_over"]), int(b["category"]))
                    for b in spec["overdue"]
                ),
                key=lambda b: b.days_over,
            )
        )
        ruleset = RuleSet(
            name=str(spec["name"]),
            label=str(spec.get("label", spec["name"])),
            overdue=bands,
            retail_rules=frozenset(spec["retail_rules"]),
            non_retail_rules=frozenset(spec["non_retail_rules"]),
            parameters=DEFAULT_PARAMETERS | spec.get("parameters", {}),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise _bad(
            file_name, f"rule set cannot be read: {e!r}", f"规则集文件无法读取：{e!r}"
        ) from e
    unknown = (ruleset.retail_rules | ruleset.non_retail_rules) - RULE_CODES
    if unknown:
        raise _bad(
            file_name, f"unknown rule codes {sorted(unknown)}", f"未知规则代码 {sorted(unknown)}"
        )
    if any(not 2 <= b.category <= 5 for b in bands):
        raise _bad(file_name, "overdue band categories must be 2-5", "逾期档次的分类应为2–5")
    return ruleset


def _bad(file_name: str, english: str, chinese: str) -> InputRejected:
    return InputRejected([Problem(file_name, None, None, None, None, english, chinese)])
