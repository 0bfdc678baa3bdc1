"""Write a synthetic bank as import-ready files with Chinese headers.

Layout of ``out``::

    orgs.csv staff.csv customers.csv capital.csv       the bank's reference tables
    YYYY-MM-DD/loans.csv repayments.csv schedules.csv  one folder per month end
               collateral.csv guarantees.csv bureau.csv provisions.csv
    import.sh                                           the import command of every month

Same seed, same files.

The files carry what every early-warning signal of SPEC §6 looks for, at modest rates: loans
falling due, first arrears, unpaid interest and downgrades; renewals and extensions of loans
in arrears; a minority of appraisals past their revaluation (real estate 12 months, other
collateral 6) and of loans above 0.70 (抵押) / 0.90 (质押) of their collateral's value;
guarantors who are customers in arrears here; the bureau's NPL elsewhere and 他行授信机构数;
companies with deposits under a fifth of their credit line; two borrowers above a tenth of
the net capital; and one officer's book surging in the last month and every six before.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from loanquality.engine.schema import (
    CATEGORY_LABELS,
    CUSTOMER_TYPE_LABELS,
    IMPORT_TABLES,
    RETAIL_CUSTOMER_TYPES,
    TABLES,
)
from loanquality.synth import names
from loanquality.synth.bank import (
    COLLATERAL_TYPES,
    PRODUCTS,
    ROOT_ORG,
    Structure,
    build_structure,
)
from loanquality.synth.portfolio import AMORTIZING, DUE_DAY, RATE, Flows, Portfolio, to_day

FORMATS = ("csv", "xlsx", "parquet")
BURN_IN_MONTHS = 24  # months lived before the first written month, so arrears have built up
PER_MONTH_TABLES = (
    "loans",
    "repayments",
    "schedules",
    "collateral",
    "guarantees",
    "bureau",
    "provisions",
)
REFERENCE_TABLES = tuple(t for t in IMPORT_TABLES if t not in PER_MONTH_TABLES)
SCHEDULE_HORIZON_DAYS = 366  # the schedule export covers what falls due within a year
# the largest borrowers' balances, as shares of the net capital (CONCENTRATION above 10 %)
LARGE_BORROWER_SHARES = (0.14, 0.12)
# every SURGE_EVERY months counted back from the last month written (not the first: it has
# no month before it), one co-op's new loans of the month all go to one officer (BOOK_SURGE),
# so the latest close shows one
SURGE_EVERY = 6
# a company's deposits here / its credit line: lognormal around DEPOSIT_SHARE (about 7 % of
# them below 20 %, DEPOSIT_LOW); the line covers its largest need by 10–40 %
DEPOSIT_SHARE, DEPOSIT_SPREAD = 0.45, 0.55


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def month_ends(start: dt.date, count: int) -> list[dt.date]:
    ends, year, month = [], start.year, start.month
    for _ in range(count):
        ends.append(month_end(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ends


@dataclass
class GeneratedBank:
    out: Path
    as_ofs: list[dt.date]
    file_format: str

    def path(self, table: str, as_of: dt.date | None = None) -> Path:
        folder = self.out / as_of.isoformat() if table in PER_MONTH_TABLES else self.out
        return folder / f"{table}.{self.file_format}"

    def files(self, as_of: dt.date) -> dict[str, Path]:
        """The files to import for ``as_of`` (table id -> path)."""
        tables = (*PER_MONTH_TABLES, *REFERENCE_TABLES)
        return {t: self.path(t, as_of) for t in tables if self.path(t, as_of).exists()}


def generate_bank(
    out: Path,
    *,
    loans: int = 10_000,
    months: int = 12,
    seed: int = 1,
    start: dt.date = dt.date(2024, 1, 31),
    file_format: str = "csv",
    progress: Callable[[str], None] | None = None,
) -> GeneratedBank:
    step = progress or (lambda _: None)
    rng = np.random.default_rng(seed)
    structure = build_structure(rng, loans)
    book = Portfolio(rng, structure)
    # the book lives BURN_IN_MONTHS before ``start`` so that arrears have built up
    months_back = start.year * 12 + start.month - 1 - (BURN_IN_MONTHS + 1)
    burn_start = dt.date(months_back // 12, months_back % 12 + 1, 1)
    all_ends = month_ends(burn_start, BURN_IN_MONTHS + 1 + months)
    book.originate(loans, to_day(all_ends[0]), to_day(all_ends[0]), seasoned=True)

    bank = GeneratedBank(Path(out), all_ends[BURN_IN_MONTHS + 1 :], file_format)
    bank.out.mkdir(parents=True, exist_ok=True)
    writer = _Writer(bank, structure, book, rng)
    for previous, as_of in itertools.pairwise(all_ends):
        if as_of == bank.as_ofs[0]:
            # repayments are written from here on: only loans issued from now can carry a
            # schedule whose whole payment history is in the files
            book.cols["has_schedule"][:] = False
            book.add_large_borrowers(to_day(previous), LARGE_BORROWER_SHARES)
        flows = book.step(previous, as_of, loans)
        written = bank.as_ofs.index(as_of) if as_of in bank.as_ofs else 0
        if written > 0 and (months - 1 - written) % SURGE_EVERY == 0:
            book.book_to_one_officer(to_day(previous))
        if as_of in bank.as_ofs:
            step(f"生成 {as_of}")
            writer.month(previous, as_of, flows)
    step("写入客户、机构、员工")
    writer.reference_tables()
    _write_import_script(bank)
    return bank


class _Writer:
    def __init__(self, bank: GeneratedBank, structure: Structure, book: Portfolio, rng):
        self.bank, self.s, self.book, self.rng = bank, structure, book, rng
        self.last_ledger: pd.DataFrame | None = None
        self.last_listed: set[int] = set()
        self.most_owed = np.zeros(0)  # per customer, the most it owed at a month end written

    def write(self, table: str, frame: pd.DataFrame, as_of: dt.date | None = None) -> None:
        path = self.bank.path(table, as_of)
        path.parent.mkdir(parents=True, exist_ok=True)
        labels = {c.id: c.label for c in TABLES[table].columns}
        frame = frame.rename(columns=labels)
        if self.bank.file_format == "csv":
            frame.to_csv(path, index=False, encoding="utf-8-sig", date_format="%Y-%m-%d")
        elif self.bank.file_format == "xlsx":
            with pd.ExcelWriter(path, engine="xlsxwriter") as excel:
                frame.to_excel(excel, index=False, sheet_name=TABLES[table].label)
        else:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)

    def month(self, previous: dt.date, as_of: dt.date, flows: Flows) -> None:
        book = self.book
        end = to_day(as_of)
        on_books = np.flatnonzero(book.active)
        ledger = self.ledger(on_books, end)
        self.write("loans", ledger, as_of)
        live = on_books[~book.written_off[on_books]]
        owed = np.bincount(book.customer[live], weights=book.balance[live])
        self.most_owed = np.maximum(
            np.pad(self.most_owed, (0, len(owed) - len(self.most_owed))), owed
        )
        listed = set(on_books.tolist())
        # a loan paid off this month is on last month's ledger only; the first month written
        # has no earlier ledger imported, so only its own loans' flows are kept
        self.write("repayments", self.repayments(flows, listed | self.last_listed), as_of)
        self.last_listed = listed
        self.write("schedules", self.schedules(on_books, end), as_of)
        self.write("collateral", self.collateral(live[book.secured[live]]), as_of)
        self.write("guarantees", self.guarantees(live[book.guaranteed[live]]), as_of)
        self.write("bureau", self.bureau(ledger), as_of)
        self.write("provisions", self.provisions(ledger), as_of)
        self.last_ledger = ledger

    def ledger(self, loans: np.ndarray, end: np.datetime64) -> pd.DataFrame:
        b, s = self.book, self.s
        product = b.product[loans]
        eff_mat = b.effective_maturity()[loans]
        arrears = b.arrears_since[loans]
        in_arrears = ~np.isnat(arrears)
        interest_days = np.where(in_arrears, (end - arrears) / np.timedelta64(1, "D"), 0)
        past_maturity = (eff_mat < end) & (b.balance[loans] > 0)
        bullet_days = np.where(past_maturity, (end - eff_mat) / np.timedelta64(1, "D"), 0)
        principal_days = np.where(AMORTIZING[product], interest_days, bullet_days)
        overdue_days = np.maximum(principal_days, interest_days).astype(int)
        missed = np.where(in_arrears, np.floor(interest_days / 30.44).astype(int) + 1, 0)
        balance = np.round(b.balance[loans], 2)
        monthly_interest = balance * RATE[product] / 12
        overdue_principal = np.where(
            AMORTIZING[product],
            np.minimum(missed * b.amount[loans] / b.term[loans], balance),
            np.where(past_maturity, balance, 0.0),
        )
        written_off = b.written_off[loans]

        category = np.select(
            [overdue_days > 360, overdue_days > 270, overdue_days > 90, overdue_days > 0],
            [5, 4, 3, 2],
            1,
        )
        # the bank's own view is kinder for some loans, more so under weak officers
        officer_factor = s.officer_factor[b.officer[loans]]
        kinder = (b.hide[loans] < 0.12 * officer_factor) & (category > 1)
        bank_category = np.where(kinder, category - 1, category)
        bank_category = np.where(written_off, 5, bank_category)
        ecl_share = np.select(
            [overdue_days > 360, overdue_days > 270, overdue_days > 90, overdue_days > 0],
            [0.8, 0.55, 0.3, 0.05],
            0.01,
        )
        customer = b.customer[loans]
        customer_type = b.customer_type[customer]
        village = b.village[loans]
        return pd.DataFrame(
            {
                "loan_id": _loan_ids(b.id[loans]),
                "contract_id": [f"HT{n:010d}" for n in b.id[loans]],
                "customer_id": _customer_ids(customer),
                "customer_name": _customer_names(customer, customer_type, b.customer_industry),
                "customer_type": [CUSTOMER_TYPE_LABELS[t] for t in customer_type],
                "group_id": [f"JT{g:04d}" if g >= 0 else None for g in b.customer_group[customer]],
                "org_id": s.outlet_ids[b.outlet[loans]],
                "manager_id": s.officer_ids[b.officer[loans]],
                "manager_b_id": s.officer_ids[b.officer_b[loans]],
                "product": [PRODUCTS[p].name for p in product],
                "industry": b.customer_industry[customer],
                "guarantee_type": np.select(
                    [b.secured[loans] & (product >= 6), b.secured[loans], b.guaranteed[loans]],
                    ["质押", "抵押", "保证"],
                    "信用",
                ),
                "amount": b.amount[loans],
                "balance": balance,
                "issue_date": b.issue[loans],
                "maturity_date": b.maturity[loans],
                "extended_maturity_date": b.ext_maturity[loans],
                "prior_loan_id": [_loan_id(p) if p >= 0 else None for p in b.prior[loans]],
                "restructure_date": b.restructured[loans],
                "overdue_principal": np.round(overdue_principal, 2),
                "overdue_interest": np.round(missed * monthly_interest, 2),
                "principal_overdue_days": principal_days.astype(int),
                "interest_overdue_days": interest_days.astype(int),
                "interest_stopped_date": np.where(
                    overdue_days > 90, arrears + np.timedelta64(90, "D"), np.datetime64("NaT", "D")
                ),
                "off_balance": np.where([PRODUCTS[p].off_balance for p in product], "是", "否"),
                "written_off": np.where(written_off, "是", "否"),
                "impaired": np.where(overdue_days > 90, "是", "否"),
                "ecl": np.round(balance * ecl_share, 2),
                "bank_category": [CATEGORY_LABELS[int(k)] for k in bank_category],
                "village": [s.villages[v] if v >= 0 else None for v in village],
                "farmer_grade": [
                    names.FARMER_GRADES[int(h * 3)] if t == "farmer" else None
                    for h, t in zip(b.hide[loans], customer_type, strict=True)
                ],
            }
        )

    def repayments(self, flows: Flows, listed: set[int]) -> pd.DataFrame:
        f = flows.arrays()
        keep = np.array([n in listed for n in f["loan"]], bool)
        return pd.DataFrame(
            {
                "loan_id": _loan_ids(f["loan"][keep]),
                "date": f["date"][keep],
                "principal_paid": f["principal"][keep],
                "interest_paid": f["interest"][keep],
                "kind": f["kind"][keep],
            }
        )

    def schedules(self, loans: np.ndarray, end: np.datetime64) -> pd.DataFrame:
        """Equal monthly principal on the 21st, interest on the scheduled balance."""
        b = self.book
        loans = loans[b.has_schedule[loans] & ~b.written_off[loans]]
        rows_loan, rows_seq = [], []
        for loan in loans:
            rows_loan.append(np.full(b.term[loan], loan))
            rows_seq.append(np.arange(1, b.term[loan] + 1))
        if not rows_loan:
            return pd.DataFrame(
                columns=["loan_id", "seq", "due_date", "principal_due", "interest_due"]
            )
        loan = np.concatenate(rows_loan)
        seq = np.concatenate(rows_seq)
        issue_month = b.issue[loan].astype("datetime64[M]")
        due = (issue_month + seq.astype("timedelta64[M]")).astype("datetime64[D]") + np.timedelta64(
            DUE_DAY - 1, "D"
        )
        keep = due <= end + np.timedelta64(SCHEDULE_HORIZON_DAYS, "D")
        loan, seq, due = loan[keep], seq[keep], due[keep]
        installment = b.amount[loan] / b.term[loan]
        scheduled_balance = b.amount[loan] - (seq - 1) * installment
        return pd.DataFrame(
            {
                "loan_id": _loan_ids(loan),
                "seq": seq,
                "due_date": due,
                "principal_due": np.round(installment, 2),
                "interest_due": np.round(scheduled_balance * RATE[b.product[loan]] / 12, 2),
            }
        )

    def collateral(self, loans: np.ndarray) -> pd.DataFrame:
        """One item per secured loan, at the value and date of its last appraisal."""
        b = self.book
        return pd.DataFrame(
            {
                "collateral_id": [f"YP{n:010d}" for n in b.id[loans]],
                "loan_id": _loan_ids(b.id[loans]),
                "type": np.array(COLLATERAL_TYPES)[b.collateral_kind[loans]],
                "value": np.round(b.appraised_value[loans], -2),
                "appraisal_date": b.appraisal[loans],
            }
        )

    def guarantees(self, loans: np.ndarray) -> pd.DataFrame:
        """Each 保证 loan's guarantor: another customer of the bank, drawn when it was made."""
        b = self.book
        return pd.DataFrame(
            {
                "loan_id": _loan_ids(b.id[loans]),
                "guarantor_id": _customer_ids(b.guarantor[loans]),
                "amount": b.amount[loans],
            }
        )

    def bureau(self, ledger: pd.DataFrame) -> pd.DataFrame:
        """Non-retail debtors' share of debt overdue > 90 days at all banks: those 90 days
        overdue here, and a fixed few (about 2 %) in trouble elsewhere only; and how many
        other banks lend to them (one more for those in trouble)."""
        non_retail = ledger[ledger["customer_type"].isin(["企业", "小微企业"])]
        worst = non_retail.groupby("customer_id")["principal_overdue_days"].max()
        number = worst.index.str[2:].astype(int).to_numpy()
        elsewhere = (number * 2654435761) % 100 < 2
        share = np.where(worst > 90, 0.35 + (number % 50) / 100, np.where(elsewhere, 0.25, 0.0))
        lenders = self.book.customer_lenders[number] + (share > 0)
        return pd.DataFrame(
            {
                "customer_id": worst.index,
                "overdue90_share": np.round(share, 4),
                "lender_count": lenders,
            }
        )

    def provisions(self, ledger: pd.DataFrame) -> pd.DataFrame:
        """Provisions held per co-op: what the bank's categories require, times a cushion."""
        rates = {"正常": 0.015, "关注": 0.02, "次级": 0.25, "可疑": 0.5, "损失": 1.0}
        live = ledger[ledger["written_off"] == "否"]
        required = live["balance"] * live["bank_category"].map(rates)
        coop = live["org_id"].str[:3] + "00"
        held = required.groupby(coop).sum()
        cushion = 1.2 + 0.6 * ((np.arange(len(held)) * 37) % 10) / 10
        return pd.DataFrame({"org_id": held.index, "provision": np.round(held.values * cushion, 2)})

    def reference_tables(self) -> None:
        b, s = self.book, self.s
        self.write("orgs", s.orgs)
        self.write("staff", s.staff)
        n = len(b.customer_type)
        ids = np.arange(n)
        village = b.customer_village
        farmer = b.customer_type == "farmer"
        line_draw, deposit_draw = self.rng.lognormal(11, 1, n), self.rng.lognormal(9.5, 1.5, n)
        # companies: a credit line covering what they borrow, deposits a share of it (the
        # same draws, as standard normals)
        company = ~np.isin(b.customer_type, RETAIL_CUSTOMER_TYPES)
        cover = np.clip(1.25 * np.exp(0.12 * (np.log(line_draw) - 11)), 1.1, 1.4)
        line = np.ceil(self.company_need(company) * cover / 10_000) * 10_000
        share = DEPOSIT_SHARE * np.exp(DEPOSIT_SPREAD * (np.log(deposit_draw) - 9.5) / 1.5)
        credit_line = np.where(company, line, np.round(line_draw, -3))
        deposits = np.round(np.where(company, line * share, deposit_draw), 2)
        self.write(
            "customers",
            pd.DataFrame(
                {
                    "customer_id": _customer_ids(ids),
                    "customer_name": _customer_names(ids, b.customer_type, b.customer_industry),
                    "customer_type": [CUSTOMER_TYPE_LABELS[t] for t in b.customer_type],
                    "group_id": [f"JT{g:04d}" if g >= 0 else None for g in b.customer_group],
                    "industry": b.customer_industry,
                    "village": [s.villages[v] if v >= 0 else None for v in village],
                    "farmer_grade": [
                        names.FARMER_GRADES[i % 3] if f else None
                        for i, f in zip(ids, farmer, strict=True)
                    ],
                    "credit_line": credit_line,
                    "deposit_balance": deposits,
                }
            ),
        )
        # net capital: 11 % of the last month's book (its largest borrowers hold 12–14 % each)
        total = self.last_ledger["balance"].sum() if self.last_ledger is not None else 0.0
        self.write(
            "capital", pd.DataFrame({"org_id": [ROOT_ORG], "net_capital": [round(total * 0.11, 2)]})
        )

    def company_need(self, company: np.ndarray) -> np.ndarray:
        """Per customer: the larger of its largest loan ever and the most it owed at a month
        end written (only where ``company``; 0 elsewhere)."""
        b = self.book
        loans = np.flatnonzero(company[b.customer])
        largest = np.zeros(len(company))
        np.maximum.at(largest, b.customer[loans], b.amount[loans])
        owed = np.pad(self.most_owed, (0, len(company) - len(self.most_owed)))
        return np.where(company, np.maximum(largest, owed), 0.0)


def _loan_id(n: int) -> str:
    return f"JJ{n:010d}"


def _loan_ids(numbers: np.ndarray) -> list[str]:
    return [f"JJ{n:010d}" for n in numbers]


def _customer_ids(numbers: np.ndarray) -> list[str]:
    return [f"KH{n:09d}" for n in numbers]


def _customer_names(customers: np.ndarray, kinds: np.ndarray, industries: np.ndarray) -> list[str]:
    out = []
    for c, kind in zip(customers, kinds, strict=True):
        surname = names.SURNAMES[c % len(names.SURNAMES)]
        if kind in ("corporate", "micro"):
            town = names.TOWNS[(c // 7) % len(names.TOWNS)]
            trade = names.COMPANY_TRADES.get(industries[c], "商贸")
            form = names.COMPANY_FORMS[c % len(names.COMPANY_FORMS)]
            out.append(f"某县{town}{surname}氏{trade}{form}")
        else:
            out.append(surname + names.GIVEN[(c // 31) % len(names.GIVEN)])
    return out


def _write_import_script(bank: GeneratedBank) -> None:
    lines = [
        "#!/bin/sh",
        "# Import every month of this synthetic bank: sh import.sh DATA_DIR",
        "set -e",
        'DATA="${1:-data}"',
        'HERE=$(cd "$(dirname "$0")" && pwd)',
    ]
    for as_of in bank.as_ofs:
        options = " ".join(
            f'--{table} "$HERE"/{shlex.quote(str(path.relative_to(bank.out)))}'
            for table, path in bank.files(as_of).items()
        )
        lines.append(f'loanquality import --data-dir "$DATA" --as-of {as_of} {options}')
    (bank.out / "import.sh").write_text("\n".join(lines) + "\n", encoding="utf-8")
