"""The synthetic bank's fixed parts: products, org tree, villages, staff.

Shaped after the seeds: a county 联社 of about twenty 信用社/支行 with a few
网点 each, mostly 农户小额信用贷款 (seeds/004: 96.5 % of one co-op's book),
six to ten 客户经理 per co-op, some of them clearly worse than the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loanquality.synth import names

ROOT_ORG = "L0000"


@dataclass(frozen=True)
class Product:
    name: str
    customer_type: str
    share: float  # of loan count
    guarantees: tuple[tuple[str, float], ...]
    median_amount: float  # yuan
    terms: tuple[int, ...]  # months
    amortizing: bool  # equal monthly principal; otherwise principal at maturity
    industries: tuple[str, ...]
    hazard: float  # monthly chance a performing loan misses a payment
    rate: float  # annual interest rate
    off_balance: bool = False
    round_to: int = 10_000
    # what a 抵押 / 质押 loan of this product is secured by: (押品类型, weight)
    collateral: tuple[tuple[str, float], ...] = ()


PRODUCTS = (
    Product(
        "农户小额信用贷款",
        "farmer",
        0.702,
        (("信用", 1.0),),
        30_000,
        (12, 12, 12, 24, 36),
        False,
        ("A", "A", "A", "A", "F", "O"),
        0.006,
        0.072,
        round_to=1_000,
    ),
    Product(
        "农户联保贷款",
        "farmer",
        0.11,
        (("保证", 1.0),),
        60_000,
        (12, 24),
        False,
        ("A", "A", "A", "F"),
        0.007,
        0.078,
        round_to=1_000,
    ),
    Product(
        "个体工商户经营贷款",
        "sole_proprietor",
        0.08,
        (("抵押", 0.6), ("保证", 0.4)),
        300_000,
        (12, 24, 36),
        True,
        ("F", "H", "O", "G"),
        0.004,
        0.066,
        collateral=(("住房", 0.5), ("商铺", 0.3), ("车辆", 0.1), ("机器设备", 0.1)),
    ),
    Product(
        "个人住房贷款",
        "individual",
        0.04,
        (("抵押", 1.0),),
        400_000,
        (120, 180, 240),
        True,
        ("",),
        0.0012,
        0.045,
        collateral=(("住房", 1.0),),
    ),
    Product(
        "小微企业流动资金贷款",
        "micro",
        0.045,
        (("抵押", 0.5), ("保证", 0.5)),
        1_500_000,
        (12,),
        False,
        ("C", "F", "E", "G"),
        0.005,
        0.060,
        collateral=(
            ("厂房", 0.35),
            ("商铺", 0.15),
            ("土地使用权", 0.15),
            ("机器设备", 0.2),
            ("存货", 0.15),
        ),
    ),
    Product(
        "流动资金贷款",
        "corporate",
        0.008,
        (("抵押", 0.6), ("保证", 0.4)),
        6_000_000,
        (12, 24),
        False,
        ("C", "E", "K", "F"),
        0.004,
        0.055,
        collateral=(
            ("厂房", 0.35),
            ("土地使用权", 0.3),
            ("商铺", 0.1),
            ("机器设备", 0.15),
            ("存货", 0.1),
        ),
    ),
    Product(
        "票据贴现",
        "corporate",
        0.008,
        (("质押", 1.0),),
        2_000_000,
        (6,),
        False,
        ("C", "F"),
        0.0003,
        0.025,
        collateral=(("存单", 1.0),),
    ),
    Product(
        "银行承兑汇票",
        "corporate",
        0.007,
        (("质押", 1.0),),
        3_000_000,
        (6,),
        False,
        ("C", "F"),
        0.0003,
        0.0,
        off_balance=True,
        collateral=(("存单", 1.0),),
    ),
)
PRODUCT_SHARES = np.array([p.share for p in PRODUCTS]) / sum(p.share for p in PRODUCTS)
LARGE_LOAN_PRODUCT = 5  # 流动资金贷款, what the bank's largest borrowers hold

# 押品类型: real estate is revalued every 12 months, other collateral every 6 (SPEC §7)
COLLATERAL_TYPES = ("住房", "商铺", "厂房", "土地使用权", "机器设备", "存货", "车辆", "存单")
REAL_ESTATE = np.array([t in ("住房", "商铺", "厂房", "土地使用权") for t in COLLATERAL_TYPES])
PLEDGED = np.array([t == "存单" for t in COLLATERAL_TYPES])  # 质押: a deposit certificate

# Calendar-month factors (index 0 = January). Farmers are stretched before the
# harvest and collect after it (seeds: collections spike in the autumn).
HAZARD_SEASON = np.array([1.1, 1.2, 1.3, 1.3, 1.1, 0.9, 0.9, 1.0, 1.0, 0.8, 0.7, 0.8])
CURE_SEASON = np.array([0.8, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 1.1, 1.3, 2.0, 2.4, 2.2])
LENDING_SEASON = np.array([1.0, 1.6, 1.8, 1.5, 1.1, 0.9, 0.8, 0.8, 0.9, 1.0, 0.9, 0.7])


@dataclass
class Structure:
    orgs: pd.DataFrame  # org_id, org_name, parent_id
    outlet_ids: np.ndarray
    outlet_coop: np.ndarray  # index into coop ids
    outlet_weight: np.ndarray
    villages: np.ndarray  # village names
    village_outlet: np.ndarray
    staff: pd.DataFrame
    officer_ids: np.ndarray  # staff_id of each 客户经理
    officer_coop: np.ndarray
    officer_factor: np.ndarray  # multiplies default hazard; the bad ones hide NPL too


def build_structure(rng: np.random.Generator, n_loans: int) -> Structure:
    n_coops = 20 if n_loans >= 2_000 else 6
    org_rows = [(ROOT_ORG, "某县农村信用合作联社", None)]
    outlet_ids, outlet_coop, outlet_weight = [], [], []
    coop_ids = []
    for c in range(n_coops):
        town = names.TOWNS[c % len(names.TOWNS)]
        coop_id = f"L{c + 1:02d}00"
        coop_ids.append(coop_id)
        kind = "支行" if c % 5 == 0 else "信用社"
        org_rows.append((coop_id, f"{town}{kind}", ROOT_ORG))
        size = rng.lognormal(0, 0.4)
        n_outlets = int(rng.integers(3, 7))
        for k in range(n_outlets):
            outlet_id = f"L{c + 1:02d}{k + 1:02d}"
            org_rows.append((outlet_id, f"{town}{names.OUTLET_SUFFIXES[k]}", coop_id))
            outlet_ids.append(outlet_id)
            outlet_coop.append(c)
            outlet_weight.append(size / n_outlets)
    orgs = pd.DataFrame(org_rows, columns=["org_id", "org_name", "parent_id"])

    village_names = [
        f"{prefix}{surname}{suffix}"
        for prefix in ("", "大", "小", "前", "后", "东", "西")
        for surname in names.SURNAMES
        for suffix in names.VILLAGE_SUFFIXES
    ]
    rng.shuffle(village_names)
    villages, village_outlet = [], []
    for o in range(len(outlet_ids)):
        for _ in range(int(rng.integers(4, 9))):
            villages.append(village_names[len(villages) % len(village_names)] + "村")
            village_outlet.append(o)

    staff_rows, officer_ids, officer_coop = [], [], []
    for c, coop_id in enumerate(coop_ids):
        roles = ["机构负责人", "风险经理"] + ["客户经理"] * int(rng.integers(6, 11))
        for role in roles:
            staff_id = f"E{len(staff_rows) + 1:04d}"
            name = (
                names.SURNAMES[rng.integers(len(names.SURNAMES))]
                + names.GIVEN[rng.integers(len(names.GIVEN))]
            )
            grade = names.GRADES[rng.integers(len(names.GRADES))]
            staff_rows.append((staff_id, name, coop_id, role, grade))
            if role == "客户经理":
                officer_ids.append(staff_id)
                officer_coop.append(c)
    staff = pd.DataFrame(staff_rows, columns=["staff_id", "name", "org_id", "role", "grade"])
    factor = rng.lognormal(0, 0.3, len(officer_ids))
    bad = rng.random(len(officer_ids)) < 0.12
    factor[bad] *= 2.5
    return Structure(
        orgs,
        np.array(outlet_ids),
        np.array(outlet_coop),
        np.array(outlet_weight) / sum(outlet_weight),
        np.array(villages),
        np.array(village_outlet),
        staff,
        np.array(officer_ids),
        np.array(officer_coop),
        factor,
    )
