"""Rule sets: versioned TOML files of classification rules and thresholds (SPEC §4).

A rule set names the overdue bands, which rules apply to retail and to
non-retail loans, and the parameters of each rule. Its SHA-256 goes with
every result so a close can say exactly which rules it used.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, fields
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


# What SPEC §7 counts as real estate (不动产) for the revaluation schedule: every other
# collateral type (存单, 机器设备, 车辆, 存货 …) is revalued every ``revaluation_months_other``.
REAL_ESTATE_TYPES = (
    "房产",
    "住房",
    "住宅",
    "商铺",
    "商业用房",
    "办公用房",
    "厂房",
    "土地",
    "土地使用权",
    "在建工程",
    "不动产",
)


@dataclass(frozen=True)
class SignalParameters:
    """The thresholds of the early-warning signals (SPEC §6), the rule set's ``[signals]``.

    A rule-set file without the section, or without some of its keys, gets these defaults.
    ``due_days`` maps a severity (3 高, 2 中, 1 低) to the days a case of it is due in.
    """

    maturity_notice_months: int = 3  # MAT3M: maturity within this many months
    maturity_reminder_months: int = 1  # MAT1M: maturity within this many months
    ltv_mortgage: float = 0.70  # LTV_HIGH: balance / collateral value above this (抵押)
    ltv_pledge: float = 0.90  # ... (质押)
    revaluation_months_real_estate: int = 12  # COLLATERAL_STALE: real estate (§7)
    revaluation_months_other: int = 6  # ... every other collateral
    real_estate_types: tuple[str, ...] = REAL_ESTATE_TYPES
    bureau_overdue90_share: float = 0.0  # BUREAU_NPL: share of debt elsewhere > 90 days above
    lender_count: int = 3  # MULTI_LENDER: lenders elsewhere at least this many
    deposit_share: float = 0.20  # DEPOSIT_LOW: deposits / credit line below this
    concentration_share: float = 0.10  # CONCENTRATION: balance / net capital above this
    book_surge_share: float = 0.30  # BOOK_SURGE: growth of an officer's book above this ...
    book_surge_amount: float = 1_000_000.0  # ... and by more than this many yuan
    due_days: dict[int, int] = field(default_factory=lambda: {3: 7, 2: 15, 1: 30})


SIGNAL_PARAMETERS = {f.name for f in fields(SignalParameters)}
_SIGNAL_MONTHS = (
    "maturity_notice_months",
    "maturity_reminder_months",
    "revaluation_months_real_estate",
    "revaluation_months_other",
)
_SIGNAL_SHARES = ("ltv_mortgage", "ltv_pledge", "deposit_share", "concentration_share")


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
    signals: SignalParameters = field(default_factory=SignalParameters)

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
            signals=signal_parameters(spec.get("signals", {}), file_name),
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


def signal_parameters(section: object, file_name: str = "rule set") -> SignalParameters:
    """The ``[signals]`` section of a rule set, every key not given at its default.

    Every bad value is reported at once (``InputRejected``, in English and Chinese).
    """
    if not isinstance(section, dict):
        raise _bad(file_name, "[signals] must be a table", "[signals] 应为一个表（节）")
    problems: list[Problem] = []

    def bad(key: str, value: object, english: str, chinese: str) -> None:
        problems.append(
            Problem(
                file_name,
                None,
                f"signals.{key}",
                None,
                repr(value),
                english,
                chinese,
            )
        )

    given: dict[str, object] = {}
    for key, value in section.items():
        if key not in SIGNAL_PARAMETERS:
            bad(key, value, "unknown signal parameter", "未知的预警参数")
        elif key in (*_SIGNAL_MONTHS, "lender_count"):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 120:
                bad(key, value, "must be a whole number 1-120", "应为 1 到 120 之间的整数")
            else:
                given[key] = value
        elif key in (*_SIGNAL_SHARES, "bureau_overdue90_share", "book_surge_share"):
            low = 0.0 if key == "bureau_overdue90_share" else 1e-9
            high = 10.0 if key.startswith("ltv") or key == "book_surge_share" else 1.0
            if isinstance(value, bool) or not isinstance(value, int | float):
                bad(key, value, "must be a number", "应为数值")
            elif not low <= float(value) <= high:
                bad(
                    key,
                    value,
                    f"must be between {low:g} and {high:g}",
                    f"应在 {low:g} 到 {high:g} 之间",
                )
            else:
                given[key] = float(value)
        elif key == "book_surge_amount":
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                bad(key, value, "must be an amount in yuan, >= 0", "应为不小于 0 的金额（元）")
            else:
                given[key] = float(value)
        elif key == "real_estate_types":
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v.strip() for v in value
            ):
                bad(
                    key,
                    value,
                    "must be a list of collateral type names",
                    "应为押品类型名称的列表",
                )
            else:
                given[key] = tuple(v.strip() for v in value)
        elif key == "due_days":
            days = _due_days(value)
            if days is None:
                bad(
                    key,
                    value,
                    "must give whole days 1-365 for severities 1, 2 and 3, e.g. "
                    "{ 3 = 7, 2 = 15, 1 = 30 }",
                    "应为严重程度 1、2、3 各自的处理期限（1 到 365 天的整数），"
                    "如 { 3 = 7, 2 = 15, 1 = 30 }",
                )
            else:
                given[key] = days
    months = {k: given.get(k, getattr(SignalParameters, k)) for k in _SIGNAL_MONTHS[:2]}
    if months["maturity_reminder_months"] >= months["maturity_notice_months"]:  # type: ignore[operator]
        bad(
            "maturity_reminder_months",
            months["maturity_reminder_months"],
            "must be fewer than maturity_notice_months",
            "应小于 maturity_notice_months（到期监测月数）",
        )
    if problems:
        raise InputRejected(problems)
    return SignalParameters(**given)  # type: ignore[arg-type]


def _due_days(value: object) -> dict[int, int] | None:
    if not isinstance(value, dict):
        return None
    try:
        days = {int(k): v for k, v in value.items()}
    except ValueError:
        return None
    if set(days) != {1, 2, 3} or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 365 for v in days.values()
    ):
        return None
    return days


def _bad(file_name: str, english: str, chinese: str) -> InputRejected:
    return InputRejected([Problem(file_name, None, None, None, None, english, chinese)])
