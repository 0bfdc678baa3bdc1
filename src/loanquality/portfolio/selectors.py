"""Reads of the published close results for the pages and the API, scoped to a user's orgs.

Every query runs in DuckDB straight on the lake's Parquet files; nothing loops over loans
in Python. Each function takes the ``Scope`` and never returns a row outside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from loanquality.common.labels import (
    CATEGORY_LABELS,
    CUSTOMER_TYPE_LABELS,
    INDUSTRY_LABELS,
    rule_labels,
)
from loanquality.common.scope import OrgTree, Scope, lake, org_tree
from loanquality.engine.lake import PART_FILE

NPL_FLOOR = 3
LOAN_FILTERS = {
    "all": ("全部在册贷款", "TRUE"),
    "npl": ("不良贷款", f"final_category >= {NPL_FLOOR}"),
    "special_mention": ("关注类贷款", "final_category = 2"),
    "overdue": ("逾期贷款", "overdue_days > 0"),
    "overdue90": ("逾期90天以上", "overdue_days > 90"),
    "hidden": ("分类偏离（隐性不良）", "deviation"),
}
LIVE = "NOT coalesce(written_off, FALSE) AND NOT coalesce(off_balance, FALSE)"
# A semi-join against the list: a hash lookup per row, where list_contains walks the list
IN_ORGS = "org_id IN (SELECT unnest($orgs))"


# Every close at once, matched by column name: closes published by an older version lack
# the columns added since (null there), and none is dropped for lacking one.
EVERY_CLOSE = "hive_partitioning = true, union_by_name = true"


def _files(table: str, as_of: dt.date | None = None) -> str:
    """A quoted Parquet path (one partition) or glob (every as-of) of a lake table."""
    if as_of is None:
        path = lake().root / table / "*" / PART_FILE
    else:
        path = lake().partition(table, as_of) / PART_FILE
    return "'" + str(path).replace("'", "''") + "'"


def _query(sql: str, params: dict | None = None) -> list[dict]:
    with duckdb.connect() as con:
        cursor = con.execute(sql, params or {})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def closed_dates() -> list[dt.date]:
    return lake().as_ofs("metrics")


def latest_close() -> dt.date | None:
    dates = closed_dates()
    return dates[-1] if dates else None


def scope_key(scope: Scope) -> tuple[str, str]:
    """The metric row that is the user's whole scope: the bank total or the user's org."""
    return ("total", "total") if scope.bank_wide else ("org", scope.org_id)


def metric_rows(as_of: dt.date, group_by: str, keys: list[str] | None = None) -> list[dict]:
    if not lake().has("metrics", as_of):
        return []
    sql = f"SELECT * FROM read_parquet({_files('metrics', as_of)}) WHERE group_by = $group_by"
    params: dict = {"group_by": group_by}
    if keys is not None:
        sql += " AND list_contains($keys, key)"
        params["keys"] = keys
    return _query(sql + " ORDER BY key", params)


def scoped_metric_rows(scope: Scope, as_of: dt.date, group_by: str) -> list[dict]:
    """Rows of one grouping the user may see: their orgs; the officers of their orgs;
    groupings across the whole bank (product, industry …) only for a bank-wide user."""
    if group_by == "org":
        return metric_rows(as_of, "org", list(scope.orgs))
    if group_by == "manager":
        return metric_rows(as_of, "manager", officers_of(scope, as_of))
    if scope.bank_wide:
        return metric_rows(as_of, group_by)
    return []


def indicator_rows(scope: Scope, as_of: dt.date, groupings: list[str]) -> list[dict]:
    """The metric rows of ``groupings`` the user may see, each once: "total" is the whole
    scope (the bank's total row, or below the head office the user's org row, which the
    org grouping holds too)."""
    rows: dict[tuple[str, str], dict] = {}
    for grouping in dict.fromkeys(groupings):
        if grouping == "total":
            group_by, key = scope_key(scope)
            found = metric_rows(as_of, group_by, [key])
        else:
            found = scoped_metric_rows(scope, as_of, grouping)
        for row in found:
            rows.setdefault((row["group_by"], row["key"]), row)
    return list(rows.values())


def officers_of(scope: Scope, as_of: dt.date, orgs: list[str] | None = None) -> list[str]:
    """Staff ids of the officers who belong to ``orgs`` (default: the whole scope), by the
    staff table of the latest import up to ``as_of``."""
    dates = [d for d in lake().as_ofs("staff") if d <= as_of]
    if not dates:
        return []
    rows = _query(
        f"""SELECT staff_id FROM read_parquet({_files("staff", dates[-1])})
            WHERE list_contains($orgs, org_id)""",
        {"orgs": list(orgs if orgs is not None else scope.orgs)},
    )
    return sorted(r["staff_id"] for r in rows)


def metric_history(group_by: str, key: str) -> list[dict]:
    """One grouping key's metric row at every close, oldest first."""
    if not closed_dates():
        return []
    return _query(
        f"""SELECT * FROM read_parquet({_files("metrics")}, {EVERY_CLOSE})
            WHERE group_by = $group_by AND key = $key ORDER BY as_of""",
        {"group_by": group_by, "key": key},
    )


def migration_cells(as_of: dt.date, group_by: str, key: str) -> list[dict]:
    if not lake().has("migration", as_of):
        return []
    return _query(
        f"""SELECT from_category, to_state, loan_count, opening_balance
            FROM read_parquet({_files("migration", as_of)})
            WHERE group_by = $group_by AND key = $key""",
        {"group_by": group_by, "key": key},
    )


@dataclass
class LoanPage:
    rows: list[dict]
    total: int
    total_balance: float


# Overdue bands of the list filter: code -> (Chinese, at least, at most days)
OVERDUE_BANDS = {
    "0": ("未逾期", 0, 0),
    "1-30": ("1–30天", 1, 30),
    "31-60": ("31–60天", 31, 60),
    "61-90": ("61–90天", 61, 90),
    "91-180": ("91–180天", 91, 180),
    "181-270": ("181–270天", 181, 270),
    "271-360": ("271–360天", 271, 360),
    "361-": ("360天以上", 361, None),
}
# Sortable columns: what the page calls them -> the column; "-" in front sorts descending
SORT_COLUMNS = {
    "loan_id": "loan_id",
    "customer": "customer_name",
    "customer_type": "customer_type",
    "org": "org_id",
    "product": "product",
    "balance": "balance",
    "maturity": "maturity_date",
    "overdue": "overdue_days",
    "category": "final_category",
}
DEFAULT_SORT = "-balance"


@dataclass(frozen=True)
class LoanFilter:
    """What narrows a loan list; every field optional. ``manager`` is the 管户 officer (as
    the metric rows count them), ``staff`` an officer as 管户 or B角 (我的贷款)."""

    kind: str = "all"
    org: str | None = None
    manager: str | None = None
    staff: str | None = None
    product: str | None = None
    category: int | None = None
    overdue: str | None = None
    guarantee: str | None = None
    query: str = ""

    def conditions(self) -> tuple[list[str], dict]:
        where, params = [LOAN_FILTERS[self.kind][1]], {}
        equal = {
            "manager_id": self.manager,
            "product": self.product,
            "final_category": self.category,
            "guarantee_type": self.guarantee,
        }
        for column, value in equal.items():
            if value is not None and value != "":
                where.append(f"{column} = ${column}")
                params[column] = value
        if self.staff:
            where.append("(manager_id = $staff OR manager_b_id = $staff)")
            params["staff"] = self.staff
        if self.overdue:
            _, low, high = OVERDUE_BANDS[self.overdue]
            where.append(f"coalesce(overdue_days, 0) >= {int(low)}")
            if high is not None:
                where.append(f"coalesce(overdue_days, 0) <= {int(high)}")
        return where, params


def order_by(sort: str) -> str:
    """``sort`` ("balance", "-overdue" …) as an ORDER BY list, the loan id breaking ties;
    an unknown column sorts by the default."""
    descending = sort.startswith("-")
    column = SORT_COLUMNS.get(sort.lstrip("-"))
    if column is None:
        return order_by(DEFAULT_SORT)
    direction = "DESC" if descending else "ASC"
    return f"{column} {direction} NULLS LAST, loan_id"


LOAN_LIST_COLUMNS = """loan_id, customer_id, customer_name, customer_type, industry, org_id,
    manager_id, manager_b_id, product, guarantee_type, balance, maturity_date, overdue_days,
    final_category, final_category_label, reasons, bank_category, deviation, written_off"""


def labelled(rows: str) -> str:
    """``rows`` (a query of loan rows) with the Chinese name beside each code, for
    ``ORDER BY`` by the caller; the maps come as parameters (``_label_maps``). The orgs and
    staff are joined as tables and the short code lists built once as maps: a map built
    from parameters inside a row expression would be built again for every row."""
    reasons = "list_filter(string_split(coalesce(loans.reasons, ''), ';'), code -> code <> '')"
    rule = "coalesce(maps.rules[code], code)"
    return f"""(
        WITH maps AS (
            SELECT MAP($customer_type_codes, $customer_type_names) AS customer_types,
                   MAP($industry_codes, $industry_names) AS industries,
                   MAP($category_codes, $category_names) AS categories,
                   MAP($rule_codes, $rule_names) AS rules
        ), org_names AS (
            SELECT unnest($org_codes) AS code, unnest($org_names) AS name
        ), staff AS (
            SELECT unnest($staff_codes) AS code, unnest($staff_names) AS name
        )
        SELECT loans.*,
            coalesce(maps.customer_types[loans.customer_type], loans.customer_type)
                AS customer_type_label,
            coalesce(maps.industries[loans.industry], loans.industry) AS industry_label,
            coalesce(org_names.name, loans.org_id) AS org_label,
            coalesce(manager.name, loans.manager_id) AS manager_label,
            coalesce(backup.name, loans.manager_b_id) AS manager_b_label,
            maps.categories[loans.bank_category] AS bank_category_label,
            list_transform({reasons}, code -> {{'code': code, 'label': {rule}}}) AS reason_list,
            array_to_string(list_transform({reasons}, code -> code || ' ' || {rule}), '；')
                AS reasons_label
        FROM ({rows}) AS loans CROSS JOIN maps
        LEFT JOIN org_names ON org_names.code = loans.org_id
        LEFT JOIN staff AS manager ON manager.code = loans.manager_id
        LEFT JOIN staff AS backup ON backup.code = loans.manager_b_id
    )"""


def _label_maps(tree: OrgTree, as_of: dt.date | None) -> dict:
    """The parameters ``labelled`` reads: each map as a list of codes and of names."""
    maps = {
        "customer_type": CUSTOMER_TYPE_LABELS,
        "industry": INDUSTRY_LABELS,
        "org": tree.names,
        "staff": staff_names(as_of),
        "category": CATEGORY_LABELS,
        "rule": rule_labels(),
    }
    params: dict = {}
    for name, mapping in maps.items():
        params[f"{name}_codes"] = list(mapping)
        params[f"{name}_names"] = [str(v) for v in mapping.values()]
    return params


def loans(
    scope: Scope,
    as_of: dt.date,
    filters: LoanFilter = LoanFilter(),
    *,
    sort: str = DEFAULT_SORT,
    limit: int = 50,
    offset: int = 0,
) -> LoanPage:
    """The loans on the books (not written off) at ``as_of`` in the user's scope, narrowed by
    ``filters`` (``org``'s subtree, an officer, a product …, a loan/customer id or name),
    sorted by ``sort``, each with the Chinese names of its codes. Written-off loans are
    found through the search and the loan's page."""
    if not lake().has("classified", as_of):
        return LoanPage([], 0, 0.0)
    if filters.org and not scope.covers(filters.org):
        return LoanPage([], 0, 0.0)
    orgs = scope.tree.subtree(filters.org) if filters.org else list(scope.orgs)
    conditions, params = filters.conditions()
    where = [IN_ORGS, LIVE, *conditions]
    params |= {"orgs": orgs, **_label_maps(scope.tree, as_of)}
    table = f"read_parquet({_files('classified', as_of)})"
    source, matching = f"{table} WHERE {' AND '.join(where)}", ""
    if filters.query:
        # match on the three text columns alone first, then read the few matched loans
        # whole once (the file's row-group statistics skip the rest)
        params["q"] = filters.query.strip()
        source = "matched"
        matching = f"""WITH hits AS MATERIALIZED (
                SELECT loan_id FROM {table}
                WHERE loan_id = $q OR customer_id = $q OR contains(customer_name, $q)
            ), matched AS MATERIALIZED (
                SELECT {LOAN_LIST_COLUMNS} FROM {table}
                WHERE loan_id IN (SELECT loan_id FROM hits) AND {" AND ".join(where)}
            )"""
    # the count comes back even for a page past the last loan (its columns are then null);
    # the labels are looked up for the page's loans alone
    page = f"""SELECT {LOAN_LIST_COLUMNS} FROM {source}
        ORDER BY {order_by(sort)} LIMIT {int(limit)} OFFSET {int(offset)}"""
    rows = _query(
        f"""{matching}
            SELECT page.*, counted._n, counted._balance
            FROM (SELECT count(*) AS _n, coalesce(sum(balance), 0) AS _balance FROM {source})
                AS counted
            LEFT JOIN {labelled(page)} AS page ON TRUE
            ORDER BY {order_by(sort)}""",
        params,
    )
    listed = [_without(r, "_n", "_balance") for r in rows if r["loan_id"] is not None]
    return LoanPage(listed, rows[0]["_n"], rows[0]["_balance"])


def _without(row: dict, *names: str) -> dict:
    return {k: v for k, v in row.items() if k not in names}


@dataclass
class CustomerPage:
    rows: list[dict]
    total: int


def find_customers(scope: Scope, text: str, limit: int = 20, offset: int = 0) -> CustomerPage:
    """Customers whose loan id, customer id or name matches, across every close in scope,
    with whether they ever had an NPL loan or a write-off here; one page of them and how
    many matched in all."""
    if not closed_dates() or not text.strip():
        return CustomerPage([], 0)
    rows = _query(
        f"""
        WITH seen AS (
            SELECT * FROM read_parquet({_files("classified")}, {EVERY_CLOSE})
            WHERE {IN_ORGS}
        ), matched AS (
            SELECT DISTINCT customer_id FROM seen
            WHERE loan_id = $q OR customer_id = $q OR contains(customer_name, $q)
        ), customers AS (
            SELECT customer_id, arg_max(customer_name, as_of) AS customer_name,
                   arg_max(customer_type, as_of) AS customer_type,
                   bool_or(final_category >= {NPL_FLOOR}) AS had_npl,
                   bool_or(coalesce(written_off, FALSE)) AS had_write_off,
                   count(DISTINCT loan_id) AS loan_count, max(as_of) AS last_seen
            FROM seen WHERE customer_id IN (SELECT customer_id FROM matched)
            GROUP BY customer_id
        )
        SELECT counted.n AS _n, page.*,
               coalesce(MAP($customer_type_codes, $customer_type_names)[page.customer_type],
                        page.customer_type) AS customer_type_label
        FROM (SELECT count(*) AS n FROM customers) AS counted
        LEFT JOIN (
            SELECT * FROM customers ORDER BY customer_id LIMIT {int(limit)} OFFSET {int(offset)}
        ) AS page ON TRUE
        ORDER BY page.customer_id
        """,
        {
            "orgs": list(scope.orgs),
            "q": text.strip(),
            "customer_type_codes": list(CUSTOMER_TYPE_LABELS),
            "customer_type_names": list(CUSTOMER_TYPE_LABELS.values()),
        },
    )
    listed = [_without(r, "_n") for r in rows if r["customer_id"] is not None]
    return CustomerPage(listed, rows[0]["_n"])


def customer_loans(scope: Scope, customer_ids: list[str]) -> dict[str, list[dict]]:
    """Every loan in scope of each customer (one scan), as at the last close that had it
    (``as_of``), with the Chinese names of its codes."""
    if not closed_dates() or not customer_ids:
        return {}
    last_seen = f"""SELECT * FROM read_parquet({_files("classified")}, {EVERY_CLOSE})
        WHERE customer_id IN (SELECT unnest($customers)) AND {IN_ORGS}
        QUALIFY row_number() OVER (PARTITION BY loan_id ORDER BY as_of DESC) = 1"""
    rows = _query(
        f"""
        SELECT * FROM {labelled(last_seen)} AS loans ORDER BY as_of DESC, loan_id
        """,
        {
            "customers": customer_ids,
            "orgs": list(scope.orgs),
            **_label_maps(scope.tree, latest_close()),
        },
    )
    loans: dict[str, list[dict]] = {c: [] for c in customer_ids}
    for row in rows:
        loans[row["customer_id"]].append(row)
    return loans


def loan_history(loan_id: str) -> list[dict]:
    """The loan at every close, oldest first. Callers check scope first (``access_loan``)."""
    if not closed_dates():
        return []
    every_close = f"""SELECT * FROM read_parquet({_files("classified")}, {EVERY_CLOSE})
        WHERE loan_id = $loan"""
    return _query(
        f"""SELECT * FROM {labelled(every_close)} AS loans ORDER BY as_of""",
        {"loan": loan_id, **_label_maps(org_tree(), latest_close())},
    )


def loans_at_close(as_of: dt.date, loan_ids: list[str]) -> list[dict]:
    """The given loans as classified at ``as_of``. Callers check scope (``access_loans_at``)."""
    if not lake().has("classified", as_of):
        return []
    return _query(
        f"""SELECT *, DATE '{as_of.isoformat()}' AS as_of
            FROM read_parquet({_files("classified", as_of)})
            WHERE loan_id IN (SELECT unnest($ids))""",
        {"ids": loan_ids},
    )


def loan_table(table: str, loan_id: str, as_of: dt.date, *, every_import: bool = False):
    """A loan's rows of an input table: the latest import up to ``as_of``, or for flows
    (repayments) every import up to it."""
    dates = [d for d in lake().as_ofs(table) if d <= as_of]
    if not dates:
        return []
    chosen = dates if every_import else dates[-1:]
    files = ", ".join(_files(table, d) for d in chosen)
    order = {"schedules": "seq", "repayments": "date"}.get(table, "1")
    return _query(
        f"SELECT * FROM read_parquet([{files}]) WHERE loan_id = $loan ORDER BY {order}",
        {"loan": loan_id},
    )


def staff_names(as_of: dt.date | None = None, scope: Scope | None = None) -> dict[str, str]:
    """Staff id -> name from the staff table of ``as_of`` (or the latest before it); with
    ``scope``, only the staff of the user's orgs, so a page asked for any ``?manager=``
    names no one from elsewhere in the bank."""
    dates = [d for d in lake().as_ofs("staff") if as_of is None or d <= as_of]
    if not dates:
        return {}
    rows = _query(f"SELECT staff_id, name, org_id FROM read_parquet({_files('staff', dates[-1])})")
    return {
        r["staff_id"]: r["name"]
        for r in rows
        if scope is None or scope.bank_wide or scope.covers(r["org_id"])
    }


def grouping_keys(as_of: dt.date, group_by: str) -> list[str]:
    """The values a grouping takes at ``as_of`` (products, guarantee types …), from the
    metric rows the close wrote, so a filter's choices cost no scan of the loans."""
    if not lake().has("metrics", as_of):
        return []
    rows = _query(
        f"""SELECT key FROM read_parquet({_files("metrics", as_of)})
            WHERE group_by = $group_by AND coalesce(key, '') <> '' ORDER BY key""",
        {"group_by": group_by},
    )
    return [r["key"] for r in rows]
