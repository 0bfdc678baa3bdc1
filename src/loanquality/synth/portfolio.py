"""The synthetic loan book and its month-by-month life, vectorised over loans with NumPy.

Each month: performing loans pay their installment or fall into arrears
(hazard by product, officer and season); loans in arrears are cured (more
after the autumn harvest), restructured or written off; matured loans are
repaid, extended (展期) or renewed (借新还旧) — stressed ones more often,
which is how stress gets masked; new loans replace the ones that left.
Collateral is revalued on schedule (real estate every 12 months, other
collateral every 6) except under lax officers; the bank's largest borrowers
hold a large, steady 流动资金贷款 each, renewed at maturity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from loanquality.synth.bank import (
    COLLATERAL_TYPES,
    CURE_SEASON,
    HAZARD_SEASON,
    LARGE_LOAN_PRODUCT,
    LENDING_SEASON,
    PLEDGED,
    PRODUCT_SHARES,
    PRODUCTS,
    REAL_ESTATE,
    Structure,
)

NAT = np.datetime64("NaT", "D")
DAYS_PER_MONTH = 30.44
DUE_DAY = 21  # installments fall due on the 21st, as interest settles on the 20th
AMORTIZING = np.array([p.amortizing for p in PRODUCTS])
HAZARD = np.array([p.hazard for p in PRODUCTS])
RATE = np.array([p.rate for p in PRODUCTS])
CUSTOMER_TYPES = np.array([p.customer_type for p in PRODUCTS])
MEDIAN_AMOUNT = np.array([p.median_amount for p in PRODUCTS])
ROUND_TO = np.array([p.round_to for p in PRODUCTS])
# revaluation: redone once an appraisal is this many days old (before its 12 or 6 months are
# up at the next month end); a lax officer's lapses until past them, then 1 in 5 a month
REVALUE_AFTER_DAYS = np.where(REAL_ESTATE, 320, 140)
LAPSED_AFTER_DAYS = np.where(REAL_ESTATE, 366, 184)
LAX_REVALUE_CHANCE = 0.2
LAX_SHARE = 0.20  # of secured loans, times the officer's factor
# other banks lending to a new customer (他行授信机构数): chance of 0, 1, 2, … 5
LENDERS = {
    "corporate": (0.30, 0.30, 0.22, 0.10, 0.05, 0.03),
    "micro": (0.50, 0.30, 0.13, 0.05, 0.015, 0.005),
}
RETAIL_LENDERS = (0.75, 0.2, 0.05)


def draw_within_groups(rng: np.random.Generator, groups: np.ndarray, choices_of) -> np.ndarray:
    """For each element, a random pick from ``choices_of(its group)``, vectorised per group.

    ``choices_of`` returns ``(values, weights or None)``.
    """
    out = np.empty(len(groups), dtype=object)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        values, weights = choices_of(group)
        if weights is not None:
            weights = np.asarray(weights, float) / sum(weights)
        out[members] = np.asarray(values, dtype=object)[
            rng.choice(len(values), len(members), p=weights)
        ]
    return out


INT_FIELDS = (
    "id",
    "customer",
    "product",
    "outlet",
    "officer",
    "officer_b",
    "prior",
    "term",
    "paid_seq",
    "village",
    "guarantor",  # customer number of the guarantor (保证 loans)
    "collateral_kind",  # index into COLLATERAL_TYPES (secured loans)
)
# collateral_value: the market value, drifting; appraised_value: what the last appraisal said
FLOAT_FIELDS = ("amount", "balance", "stress", "collateral_value", "appraised_value", "hide")
DATE_FIELDS = ("issue", "maturity", "ext_maturity", "restructured", "arrears_since", "appraisal")
# lax: its collateral's revaluation lapses; large: one of the bank's largest borrowers' loans
BOOL_FIELDS = ("active", "written_off", "has_schedule", "secured", "guaranteed", "lax", "large")
COMPACT_FIELDS = {"guarantor": np.int32, "collateral_kind": np.int8}  # not int64


@dataclass
class Flows:
    """What moved in one month, one entry per repayment."""

    loan: list[np.ndarray] = field(default_factory=list)
    date: list[np.ndarray] = field(default_factory=list)
    principal: list[np.ndarray] = field(default_factory=list)
    interest: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)

    def add(self, loans, date, principal, interest, kind: str) -> None:
        n = len(loans)
        if not n:
            return
        self.loan.append(np.asarray(loans))
        self.date.append(np.broadcast_to(np.asarray(date, "datetime64[D]"), (n,)).copy())
        self.principal.append(np.broadcast_to(np.asarray(principal, float), (n,)).copy())
        self.interest.append(np.broadcast_to(np.asarray(interest, float), (n,)).copy())
        self.kind.append(np.full(n, kind, dtype=object))

    def arrays(self) -> dict[str, np.ndarray]:
        def join(parts, dtype):
            return np.concatenate(parts) if parts else np.array([], dtype)

        return {
            "loan": join(self.loan, int),
            "date": join(self.date, "datetime64[D]"),
            "principal": join(self.principal, float),
            "interest": join(self.interest, float),
            "kind": join(self.kind, object),
        }


def to_day(date: dt.date) -> np.datetime64:
    return np.datetime64(date, "D")


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    return days + np.round(np.asarray(months) * DAYS_PER_MONTH).astype("timedelta64[D]")


class Portfolio:
    """All loans ever made, as parallel arrays indexed by loan number."""

    def __init__(self, rng: np.random.Generator, structure: Structure):
        self.rng, self.s = rng, structure
        self.cols: dict[str, np.ndarray] = {}
        for name in INT_FIELDS:
            self.cols[name] = np.array([], int)
        for name in FLOAT_FIELDS:
            self.cols[name] = np.array([], float)
        for name in DATE_FIELDS:
            self.cols[name] = np.array([], "datetime64[D]")
        for name in BOOL_FIELDS:
            self.cols[name] = np.array([], bool)
        for name, dtype in COMPACT_FIELDS.items():  # a 10 M-loan bank makes 30 M loans
            self.cols[name] = np.array([], dtype)
        # customers: parallel arrays, grown as borrowers arrive
        self.customer_type = np.array([], object)
        self.customer_village = np.array([], int)
        self.customer_group = np.array([], int)
        self.customer_industry = np.array([], object)
        self.customer_lenders = np.array([], int)  # other banks lending to it
        self.n_groups = 0
        self.companies: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["cols"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __len__(self) -> int:
        return len(self.cols["id"])

    # -- new loans -----------------------------------------------------------------

    def originate(
        self, n: int, issue_from: np.datetime64, issue_to: np.datetime64, *, seasoned: bool = False
    ) -> np.ndarray:
        """Make ``n`` new loans issued between two dates; ``seasoned`` spreads issue dates
        back over each loan's term (the book already on hand at the start)."""
        rng, s = self.rng, self.s
        product = rng.choice(len(PRODUCTS), n, p=PRODUCT_SHARES)
        term = draw_within_groups(rng, product, lambda p: (PRODUCTS[p].terms, None)).astype(int)
        if seasoned:
            back = rng.random(n) * term * DAYS_PER_MONTH
            issue = issue_to - back.astype("timedelta64[D]")
        else:
            span = max(int((issue_to - issue_from) / np.timedelta64(1, "D")), 0)
            issue = issue_from + rng.integers(0, span + 1, n).astype("timedelta64[D]")
        outlet = rng.choice(len(s.outlet_ids), n, p=s.outlet_weight)
        coop = s.outlet_coop[outlet]

        def officers_of(coop):
            return np.flatnonzero(s.officer_coop == coop), None

        officer = draw_within_groups(rng, coop, officers_of).astype(int)
        officer_b = draw_within_groups(rng, coop, officers_of).astype(int)
        median, round_to = MEDIAN_AMOUNT[product], ROUND_TO[product]
        amount = np.maximum(np.round(median * rng.lognormal(0, 0.45, n) / round_to), 1) * round_to
        guarantee = draw_within_groups(
            rng, product, lambda p: tuple(zip(*PRODUCTS[p].guarantees, strict=True))
        )
        customer = self._borrowers(product, outlet)
        n_customers = len(self.customer_type)
        guarantor = rng.integers(0, n_customers, n)
        guarantor = np.where(guarantor == customer, (guarantor + 1) % n_customers, guarantor)
        secured = np.isin(guarantee, ["抵押", "质押"])
        kind = self._collateral_kinds(product)
        # 抵押: worth 1.3–2.3 times the loan; 质押 (存单): 1.12–1.62, a few barely above it
        cover = rng.random(n)
        cover = np.where(
            PLEDGED[kind], np.where(cover < 0.06, 1.0 + cover, 1.12 + 0.5 * cover), 1.3 + cover
        )
        lax = secured & (rng.random(n) < LAX_SHARE * s.officer_factor[officer])
        self._append(
            id=np.arange(len(self), len(self) + n),
            customer=customer,
            product=product,
            outlet=outlet,
            officer=officer,
            officer_b=officer_b,
            prior=np.full(n, -1),
            term=term,
            paid_seq=np.zeros(n, int),
            village=self.customer_village[customer],
            guarantor=guarantor,
            collateral_kind=kind,
            amount=amount,
            balance=amount.copy(),
            stress=np.ones(n),
            collateral_value=amount * cover,
            appraised_value=amount * cover,
            hide=rng.random(n),
            issue=issue,
            maturity=add_months(issue, term),
            ext_maturity=np.full(n, NAT),
            restructured=np.full(n, NAT),
            arrears_since=np.full(n, NAT),
            appraisal=issue.copy(),
            active=np.ones(n, bool),
            written_off=np.zeros(n, bool),
            has_schedule=AMORTIZING[product] & (not seasoned),
            secured=secured,
            guaranteed=np.array(guarantee) == "保证",
            lax=lax,
            large=np.zeros(n, bool),
        )
        if seasoned:
            # amortizing loans already on the books have paid what fell due before now
            months_run = np.floor((issue_to - issue) / np.timedelta64(1, "D") / DAYS_PER_MONTH)
            loans = np.arange(len(self) - n, len(self))
            amort = AMORTIZING[product]
            self.cols["paid_seq"][loans[amort]] = months_run[amort].astype(int)
            self.cols["balance"][loans[amort]] = amount[amort] * (
                1 - months_run[amort] / term[amort]
            )
        return np.arange(len(self) - n, len(self))

    def _collateral_kinds(self, product: np.ndarray) -> np.ndarray:
        """The collateral type of each new loan, drawn by product (0 for unsecured ones)."""
        kind = np.zeros(len(product), int)
        u = self.rng.random(len(product))
        for p, spec in enumerate(PRODUCTS):
            if not spec.collateral:
                continue
            members = product == p
            types, weights = zip(*spec.collateral, strict=True)
            cumulative = np.cumsum(weights) / sum(weights)
            pick = np.minimum(np.searchsorted(cumulative, u[members], side="right"), len(types) - 1)
            kind[members] = np.array([COLLATERAL_TYPES.index(t) for t in types])[pick]
        return kind

    def add_large_borrowers(self, today: np.datetime64, shares: tuple[float, ...]) -> np.ndarray:
        """The bank's largest borrowers: each of the first corporate customers gets a
        流动资金贷款 of ``shares`` of the net capital the generator writes (11 % of the book,
        which stays about level). Issued half a year ago for three years, never in arrears,
        renewed at maturity. Returns the new loans."""
        companies = np.flatnonzero(self.customer_type == "corporate")[: len(shares)]
        n = len(companies)
        if not n:
            return np.array([], int)
        book = self.balance[self.active].sum()
        total = sum(shares[:n]) * 0.11
        capital = 0.11 * book / (1 - total)  # the capital of the book these loans are part of
        amount = np.round(np.array(shares[:n]) * capital, -4)
        first_loan = np.array([np.flatnonzero(self.customer == k)[0] for k in companies])
        officer = self.officer[first_loan]
        officer_b = self.officer_b[first_loan]
        for i, (a, b) in enumerate(zip(officer, officer_b, strict=True)):
            if a == b:  # the B角 is someone else of the same co-op
                peers = np.flatnonzero(self.s.officer_coop == self.s.officer_coop[a])
                officer_b[i] = peers[peers != a][0] if len(peers) > 1 else a
        issue = np.full(n, today - np.timedelta64(183, "D"))
        start = len(self)
        self._append(
            id=np.arange(start, start + n),
            customer=companies,
            product=np.full(n, LARGE_LOAN_PRODUCT),
            outlet=self.outlet[first_loan],
            officer=officer,
            officer_b=officer_b,
            prior=np.full(n, -1),
            term=np.full(n, 36),
            paid_seq=np.zeros(n, int),
            village=np.full(n, -1),
            guarantor=np.zeros(n, int),
            collateral_kind=np.full(n, COLLATERAL_TYPES.index("厂房")),
            amount=amount,
            balance=amount.copy(),
            stress=np.zeros(n),  # never in arrears
            collateral_value=amount * 1.8,
            appraised_value=amount * 1.8,
            hide=np.full(n, 0.5),
            issue=issue,
            maturity=add_months(issue, np.full(n, 36)),
            ext_maturity=np.full(n, NAT),
            restructured=np.full(n, NAT),
            arrears_since=np.full(n, NAT),
            appraisal=issue.copy(),
            active=np.ones(n, bool),
            written_off=np.zeros(n, bool),
            has_schedule=np.zeros(n, bool),
            secured=np.ones(n, bool),
            guaranteed=np.zeros(n, bool),
            lax=np.zeros(n, bool),
            large=np.ones(n, bool),
        )
        return np.arange(start, start + n)

    def book_to_one_officer(self, prev: np.datetime64) -> int:
        """Every loan newly made this month (renewals aside) by the co-op that lent the most
        is booked to one of its officers, the one with the middle book of them, whose book
        surges. Returns that officer."""
        s, c = self.s, self.cols
        new = np.flatnonzero((self.issue > prev) & (self.prior < 0) & ~self.large)
        coop_of_new = s.outlet_coop[self.outlet[new]]
        lent = np.bincount(coop_of_new, weights=self.amount[new], minlength=len(s.outlet_coop))
        coop = int(np.argmax(lent))
        new = new[coop_of_new == coop]
        officers = np.flatnonzero(s.officer_coop == coop)
        held = self.active & ~self.written_off & (self.issue <= prev)
        book = np.bincount(
            self.officer[held], weights=self.balance[held], minlength=len(s.officer_ids)
        )[officers]
        chosen = int(officers[np.argsort(book, kind="stable")[len(officers) // 2]])
        c["officer"][new] = chosen
        others = officers[officers != chosen]
        if len(others):
            clash = new[self.officer_b[new] == chosen]
            c["officer_b"][clash] = others[clash % len(others)]
        return chosen

    def _borrowers(self, product: np.ndarray, outlet: np.ndarray) -> np.ndarray:
        """A customer per new loan: mostly new borrowers; companies borrow again and again."""
        rng = self.rng
        kinds = CUSTOMER_TYPES[product]
        customer = np.empty(len(product), int)
        company = np.isin(kinds, ["corporate"])
        existing = np.flatnonzero(self.customer_type == "corporate")
        reuse = company & (rng.random(len(product)) < 0.6) & (len(existing) > 0)
        if reuse.any():
            customer[reuse] = rng.choice(existing, reuse.sum())
        fresh = ~reuse
        n_new = int(fresh.sum())
        first = len(self.customer_type)
        customer[fresh] = np.arange(first, first + n_new)
        new_kinds = kinds[fresh]
        village = draw_within_groups(
            rng, outlet[fresh], lambda o: (np.flatnonzero(self.s.village_outlet == o), None)
        ).astype(int)
        village[~np.isin(new_kinds, ["farmer"])] = -1
        group = np.full(n_new, -1)
        corp = np.flatnonzero(new_kinds == "corporate")
        in_group = corp[rng.random(len(corp)) < 0.3]
        if len(in_group):
            group[in_group] = self.n_groups + rng.integers(
                0, max(len(in_group) // 3, 1), len(in_group)
            )
            self.n_groups = int(group.max()) + 1
        industry = draw_within_groups(rng, product[fresh], lambda p: (PRODUCTS[p].industries, None))
        u = rng.random(n_new)
        lenders = np.searchsorted(np.cumsum(RETAIL_LENDERS), u, side="right")
        for kind, chances in LENDERS.items():
            members = new_kinds == kind
            lenders[members] = np.searchsorted(np.cumsum(chances), u[members], side="right")
        self.customer_lenders = np.concatenate(
            [self.customer_lenders, np.minimum(lenders, len(LENDERS["corporate"]) - 1)]
        )
        self.customer_type = np.concatenate([self.customer_type, new_kinds.astype(object)])
        self.customer_village = np.concatenate([self.customer_village, village])
        self.customer_group = np.concatenate([self.customer_group, group])
        self.customer_industry = np.concatenate([self.customer_industry, industry])
        return customer

    def _append(self, **values: np.ndarray) -> None:
        for name, array in values.items():
            column = self.cols[name]
            self.cols[name] = np.concatenate([column, np.asarray(array, column.dtype)])

    # -- one month ------------------------------------------------------------------

    def effective_maturity(self) -> np.ndarray:
        return np.where(np.isnat(self.ext_maturity), self.maturity, self.ext_maturity)

    def step(self, previous: dt.date, as_of: dt.date, target_size: int) -> Flows:
        """Live through the month (previous, as_of]; return its repayments."""
        rng, c = self.rng, self.cols
        prev, end = to_day(previous), to_day(as_of)
        due = to_day(as_of.replace(day=DUE_DAY))
        month = as_of.month - 1
        flows = Flows()
        officer_factor = self.s.officer_factor[self.officer]
        eff_mat = self.effective_maturity()
        alive = self.active & ~self.written_off
        performing = alive & np.isnat(self.arrears_since)
        has_due = alive & (self.issue <= prev) & (due <= eff_mat)

        # performing loans miss this month's installment, or pay it
        hazard = HAZARD[self.product] * officer_factor * HAZARD_SEASON[month] * self.stress
        default = performing & has_due & (rng.random(len(self)) < hazard)
        c["arrears_since"][default] = due
        paying = np.flatnonzero(performing & has_due & ~default)
        principal = np.where(
            AMORTIZING[self.product[paying]],
            np.minimum(self.amount[paying] / self.term[paying], self.balance[paying]),
            0.0,
        )
        interest = np.round(self.balance[paying] * RATE[self.product[paying]] / 12, 2)
        flows.add(paying, due, np.round(principal, 2), interest, "正常")
        c["balance"][paying] -= principal
        c["paid_seq"][paying] += 1

        # loans in arrears: cured (paying every missed installment), restructured, written off
        arrears = alive & ~np.isnat(self.arrears_since) & ~default
        days = (end - self.arrears_since) / np.timedelta64(1, "D")
        cure_chance = np.select([days <= 90, days <= 360], [0.22, 0.05], 0.015) * CURE_SEASON[month]
        cure = np.flatnonzero(arrears & (rng.random(len(self)) < cure_chance))
        self._cure(cure, prev, end, due, flows)
        self._restructure(arrears, days, prev, end)
        write_off = np.flatnonzero(arrears & (days > 360) & (rng.random(len(self)) < 0.06))
        c["written_off"][write_off] = True
        flows.add(write_off, end, self.balance[write_off], 0.0, "核销")

        self._mature(alive, eff_mat, prev, end, officer_factor, flows)
        self._revalue(end)

        live = int((self.active & ~self.written_off).sum())
        growth = 0.006 * LENDING_SEASON[month]
        n_new = max(round(target_size * (1 + growth) - live), 0)
        self.originate(n_new, prev + np.timedelta64(1, "D"), end)
        return flows

    def _cure(self, loans, prev, end, due, flows: Flows) -> None:
        c = self.cols
        when = prev + self.rng.integers(
            1, int((end - prev) / np.timedelta64(1, "D")) + 1, len(loans)
        ).astype("timedelta64[D]")
        missed = np.maximum(
            np.round(
                (due - self.arrears_since[loans]) / np.timedelta64(1, "D") / DAYS_PER_MONTH
            ).astype(int)
            + 1,
            1,
        )
        missed = np.where(when >= due, missed, np.maximum(missed - 1, 1))
        amort = AMORTIZING[self.product[loans]]
        past_maturity = self.effective_maturity()[loans] < when
        principal = np.where(
            amort,
            np.minimum(missed * self.amount[loans] / self.term[loans], self.balance[loans]),
            np.where(past_maturity, self.balance[loans], 0.0),
        )
        interest = np.round(missed * self.balance[loans] * RATE[self.product[loans]] / 12, 2)
        days = (end - self.arrears_since[loans]) / np.timedelta64(1, "D")
        kind = np.where(days > 90, "清收", "正常")
        for k in ("正常", "清收"):
            pick = kind == k
            flows.add(loans[pick], when[pick], np.round(principal[pick], 2), interest[pick], k)
        c["balance"][loans] -= principal
        c["paid_seq"][loans] += np.where(amort, missed, 0)
        c["arrears_since"][loans] = NAT
        c["active"][loans[c["balance"][loans] <= 0.005]] = False

    def _restructure(self, arrears, days, prev, end) -> None:
        c = self.cols
        pick = np.flatnonzero(
            arrears
            & (days > 90)
            & (days <= 360)
            & np.isnat(self.restructured)
            & (self.rng.random(len(self)) < 0.02)
        )
        c["restructured"][pick] = end - self.rng.integers(0, 20, len(pick)).astype("timedelta64[D]")
        c["arrears_since"][pick] = NAT
        c["maturity"][pick] = add_months(end, np.full(len(pick), 24))
        c["ext_maturity"][pick] = NAT
        c["stress"][pick] *= 3
        c["has_schedule"][pick] = False  # the old schedule no longer applies

    def _mature(self, alive, eff_mat, prev, end, officer_factor, flows: Flows) -> None:
        """Loans reaching (extended) maturity are repaid, extended or renewed."""
        rng, c = self.rng, self.cols
        matured = alive & (eff_mat > prev) & (eff_mat <= end) & self.active & ~self.written_off
        in_arrears = ~np.isnat(self.arrears_since)
        u = rng.random(len(self))
        never_extended = np.isnat(self.ext_maturity)
        stressed = matured & in_arrears
        calm = matured & ~in_arrears
        ext_chance = np.where(stressed, 0.10, 0.02 * officer_factor)
        renew_chance = np.where(stressed, 0.25, 0.04)
        extend = matured & never_extended & (u < ext_chance) & ~self.large
        renew = matured & ~extend & ((u < ext_chance + renew_chance) | self.large)
        repaid = np.flatnonzero(calm & ~extend & ~renew)

        ext = np.flatnonzero(extend)
        c["ext_maturity"][ext] = add_months(self.maturity[ext], rng.choice([6, 12], len(ext)))
        c["arrears_since"][ext] = NAT
        c["stress"][ext] *= np.where(in_arrears[ext], 3.0, 1.8)

        flows.add(
            repaid,
            eff_mat[repaid],
            np.round(self.balance[repaid], 2),
            np.round(self.balance[repaid] * RATE[self.product[repaid]] / 12, 2),
            "正常",
        )
        c["balance"][repaid] = 0.0
        c["active"][repaid] = False

        old = np.flatnonzero(renew)
        flows.add(old, eff_mat[old], np.round(self.balance[old], 2), 0.0, "正常")
        new = self._renew(old, eff_mat[old], end)
        c["stress"][new] *= np.where(in_arrears[old], 3.0, 1.5)
        c["balance"][old] = 0.0
        c["active"][old] = False

    def _renew(self, old: np.ndarray, issue: np.ndarray, end) -> np.ndarray:
        """借新还旧: a new loan of the old balance repays the old loan."""
        n = len(old)
        start = len(self)
        issue = np.minimum(issue, end)
        term = np.full(n, 12)
        self._append(
            id=np.arange(start, start + n),
            customer=self.customer[old],
            product=self.product[old],
            outlet=self.outlet[old],
            officer=self.officer[old],
            officer_b=self.officer_b[old],
            prior=old,
            term=term,
            paid_seq=np.zeros(n, int),
            village=self.village[old],
            guarantor=self.guarantor[old],
            collateral_kind=self.collateral_kind[old],
            amount=np.round(self.balance[old], -2),
            balance=np.round(self.balance[old], -2),
            stress=self.stress[old].copy(),
            collateral_value=self.collateral_value[old].copy(),
            appraised_value=self.appraised_value[old].copy(),
            hide=self.hide[old].copy(),
            issue=issue,
            maturity=add_months(issue, term),
            ext_maturity=np.full(n, NAT),
            restructured=np.full(n, NAT),
            arrears_since=np.full(n, NAT),
            appraisal=self.appraisal[old].copy(),
            active=np.ones(n, bool),
            written_off=np.zeros(n, bool),
            has_schedule=np.zeros(n, bool),
            secured=self.secured[old].copy(),
            guaranteed=self.guaranteed[old].copy(),
            lax=self.lax[old].copy(),
            large=self.large[old].copy(),
        )
        return np.arange(start, start + n)

    def _revalue(self, end) -> None:
        """Collateral drifts; appraisals are redone on schedule, before real estate's 12 months
        or other collateral's 6 are up, except a lax officer's: overdue, then 1 in 5 a month."""
        c, rng = self.cols, self.rng
        c["collateral_value"] *= np.exp(rng.normal(-0.002, 0.01, len(self)))
        age = (end - self.appraisal) / np.timedelta64(1, "D")
        kind = self.collateral_kind
        lapsed = (age >= LAPSED_AFTER_DAYS[kind]) & (rng.random(len(self)) < LAX_REVALUE_CHANCE)
        due = self.secured & self.active & (age >= REVALUE_AFTER_DAYS[kind])
        redo = np.flatnonzero(due & (~self.lax | lapsed))
        c["appraisal"][redo] = end - rng.integers(0, 25, len(redo)).astype("timedelta64[D]")
        c["appraised_value"][redo] = self.collateral_value[redo]
