"""Canonical input tables: column ids, Chinese names, types and code values (SPEC §2).

Every import is read as text and converted column by column to the kinds
declared here, so one place decides what a valid value is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"  # whole numbers such as days or an installment number
    MONEY = "money"  # yuan, >= 0, thousands separators allowed
    SHARE = "share"  # a fraction between 0 and 1
    DATE = "date"
    FLAG = "flag"  # 是/否, Y/N, true/false, 1/0
    CATEGORY = "category"  # five-category 1..5 or 正常..损失
    CUSTOMER_TYPE = "customer_type"


@dataclass(frozen=True)
class Column:
    id: str
    label: str  # the Chinese header
    kind: Kind = Kind.TEXT
    required: bool = False


@dataclass(frozen=True)
class Table:
    id: str
    label: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()  # columns that together identify a row

    def column(self, column_id: str) -> Column:
        return next(c for c in self.columns if c.id == column_id)


CATEGORY_LABELS = {1: "正常", 2: "关注", 3: "次级", 4: "可疑", 5: "损失"}
CUSTOMER_TYPE_LABELS = {
    "corporate": "企业",
    "micro": "小微企业",
    "sole_proprietor": "个体工商户",
    "farmer": "农户",
    "individual": "个人",
}

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
RETAIL_CUSTOMER_TYPES = ("individual", "farmer", "sole_proprietor")
TRUE_WORDS = ("是", "y", "yes", "true", "t", "1")
FALSE_WORDS = ("否", "n", "no", "false", "f", "0")
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d")

C = Column
LOANS = Table(
    "loans",
    "借据台账",
    (
        C("loan_id", "借据号", required=True),
        C("contract_id", "合同号"),
        C("customer_id", "客户号", required=True),
        C("customer_name", "客户名称"),
        C("customer_type", "客户类型", Kind.CUSTOMER_TYPE),
        C("retail", "零售标志", Kind.FLAG),
        C("group_id", "集团编号"),
        C("org_id", "机构号", required=True),
        C("manager_id", "管户客户经理"),
        C("manager_b_id", "B角"),
        C("product", "贷款品种"),
        C("industry", "贷款投向行业"),
        C("guarantee_type", "担保方式"),
        C("amount", "发放金额", Kind.MONEY),
        C("balance", "贷款余额", Kind.MONEY, required=True),
        C("issue_date", "发放日", Kind.DATE, required=True),
        C("maturity_date", "到期日", Kind.DATE, required=True),
        C("extended_maturity_date", "展期到期日", Kind.DATE),
        C("prior_loan_id", "原借据号"),
        C("restructure_date", "重组日期", Kind.DATE),
        C("overdue_principal", "逾期本金", Kind.MONEY),
        C("overdue_interest", "欠息", Kind.MONEY),
        C("principal_overdue_days", "本金逾期天数", Kind.INT),
        C("interest_overdue_days", "欠息天数", Kind.INT),
        C("interest_stopped_date", "停息日期", Kind.DATE),
        C("off_balance", "表外标志", Kind.FLAG),
        C("written_off", "核销标志", Kind.FLAG),
        C("impaired", "减值标志", Kind.FLAG),
        C("ecl", "预期信用损失", Kind.MONEY),
        C("bank_category", "原五级分类", Kind.CATEGORY),
        C("village", "村"),
        C("farmer_grade", "信用户等级"),
    ),
    unique=("loan_id",),
)
ORGS = Table(
    "orgs",
    "机构",
    (
        C("org_id", "机构号", required=True),
        C("org_name", "机构名称"),
        C("parent_id", "上级机构号"),
    ),
    unique=("org_id",),
)
STAFF = Table(
    "staff",
    "员工",
    (
        C("staff_id", "员工号", required=True),
        C("name", "姓名"),
        C("org_id", "机构号"),
        C("role", "岗位"),
        C("grade", "行员等级"),
    ),
    unique=("staff_id",),
)
SCHEDULES = Table(
    "schedules",
    "还款计划",
    (
        C("loan_id", "借据号", required=True),
        C("seq", "期次", Kind.INT, required=True),
        C("due_date", "应还日期", Kind.DATE, required=True),
        C("principal_due", "应还本金", Kind.MONEY),
        C("interest_due", "应还利息", Kind.MONEY),
    ),
    unique=("loan_id", "seq"),
)
REPAYMENTS = Table(
    "repayments",
    "还款流水",
    (
        C("loan_id", "借据号", required=True),
        C("date", "还款日期", Kind.DATE, required=True),
        C("principal_paid", "实还本金", Kind.MONEY),
        C("interest_paid", "实还利息", Kind.MONEY),
        C("kind", "还款方式"),
    ),
)
CUSTOMERS = Table(
    "customers",
    "客户",
    (
        C("customer_id", "客户号", required=True),
        C("customer_name", "客户名称"),
        C("customer_type", "客户类型", Kind.CUSTOMER_TYPE),
        C("group_id", "集团编号"),
        C("industry", "所属行业"),
        C("village", "村"),
        C("farmer_grade", "信用户等级"),
        C("credit_line", "授信额度", Kind.MONEY),
        C("deposit_balance", "存款余额", Kind.MONEY),
    ),
    unique=("customer_id",),
)
COLLATERAL = Table(
    "collateral",
    "押品",
    (
        C("collateral_id", "押品编号", required=True),
        C("loan_id", "借据号", required=True),
        C("type", "押品类型"),
        C("value", "评估价值", Kind.MONEY),
        C("appraisal_date", "评估日期", Kind.DATE),
    ),
    unique=("collateral_id", "loan_id"),
)
GUARANTEES = Table(
    "guarantees",
    "担保",
    (
        C("loan_id", "借据号", required=True),
        C("guarantor_id", "保证人客户号", required=True),
        C("amount", "担保金额", Kind.MONEY),
    ),
    unique=("loan_id", "guarantor_id"),
)
BUREAU = Table(
    "bureau",
    "征信",
    (
        C("customer_id", "客户号", required=True),
        C("overdue90_share", "他行逾期90天以上占比", Kind.SHARE, required=True),
        C("lender_count", "他行授信机构数", Kind.INT),
    ),
    unique=("customer_id",),
)
PROVISIONS = Table(
    "provisions",
    "准备金",
    (
        C("org_id", "机构号", required=True),
        C("provision", "贷款损失准备", Kind.MONEY, required=True),
    ),
    unique=("org_id",),
)
CAPITAL = Table(
    "capital",
    "资本",
    (
        C("org_id", "机构号", required=True),
        C("net_capital", "资本净额", Kind.MONEY, required=True),
    ),
    unique=("org_id",),
)
# What ``classify --previous`` needs of an earlier result, and approved 认定 (--overrides).
PREVIOUS = Table(
    "previous",
    "上期分类结果",
    (
        C("loan_id", "借据号", required=True),
        C("final_category", "最终分类", Kind.CATEGORY),
        C("overdue_days", "逾期天数", Kind.INT),
        C("npl_cure_date", "不良欠款结清日", Kind.DATE),
    ),
    unique=("loan_id",),
)
OVERRIDES = Table(
    "overrides",
    "人工认定",
    (
        C("loan_id", "借据号", required=True),
        C("category", "认定分类", Kind.CATEGORY, required=True),
        C("reason", "认定理由"),
        C("override_id", "认定编号"),
    ),
    unique=("loan_id",),
)
del C

TABLES: dict[str, Table] = {
    t.id: t
    for t in (
        LOANS,
        ORGS,
        STAFF,
        SCHEDULES,
        REPAYMENTS,
        CUSTOMERS,
        COLLATERAL,
        GUARANTEES,
        BUREAU,
        PROVISIONS,
        CAPITAL,
        PREVIOUS,
        OVERRIDES,
    )
}

# The tables an import takes, the ledger first, in the order forms and commands list them.
IMPORT_TABLES: tuple[str, ...] = (
    "loans",
    "orgs",
    "staff",
    "schedules",
    "repayments",
    "customers",
    "collateral",
    "guarantees",
    "bureau",
    "provisions",
    "capital",
)

IBIS_TYPES = {
    Kind.TEXT: "string",
    Kind.INT: "int64",
    Kind.MONEY: "float64",
    Kind.SHARE: "float64",
    Kind.DATE: "date",
    Kind.FLAG: "boolean",
    Kind.CATEGORY: "int8",
    Kind.CUSTOMER_TYPE: "string",
}
