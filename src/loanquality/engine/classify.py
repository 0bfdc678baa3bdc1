"""Five-category risk classification (五级分类) with the reasons for it (SPEC §4).

Every rule gives a loan a floor category when it fires; the loan's category is
the worst floor, and ``reasons`` lists every rule that fired, so a person can
see why. Everything is one Ibis expression: the same code runs on DuckDB and
on PySpark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis

from loanquality.engine.rules import OVERDUE, RuleSet
from loanquality.engine.schema import CATEGORY_LABELS, LOANS, PREVIOUS, RETAIL_CUSTOMER_TYPES
from loanquality.engine.tables import attach, complete, money_sum

NPL_FLOOR = 3  # 次级: categories 3, 4, 5 are NPL (不良)
# The order in which reasons are listed, after the overdue bands.
REASON_ORDER = ("IMP", "ECL50", "ECL90", "EXT", "RNW", "RST", "RSTOD", "BOR", "EXTB", "UPG", "MAN")
CLASSIFIED_COLUMNS = (
    "loan_id",
    "customer_id",
    "org_id",
    "balance",
    "principal_overdue_days",
    "interest_overdue_days",
    "overdue_days",
    "rule_category",
    "final_category",
    "final_category_label",
    "reasons",
    "bank_category",
    "deviation",
    "npl_cure_date",
    "override_id",
    "override_refused",
    "upgrade_allowed",
)


@dataclass(frozen=True)
class Fired:
    """A rule's verdict on every loan: whether it fired, and the floor category it sets."""

    code: str
    when: ibis.Value  # boolean
    category: ibis.Value  # int


def classify(
    loans: ibis.Table,
    as_of: dt.date,
    ruleset: RuleSet,
    *,
    previous: ibis.Table | None = None,
    bureau: ibis.Table | None = None,
    overrides: ibis.Table | None = None,
    schedules: ibis.Table | None = None,
) -> ibis.Table:
    """Classify every loan of ``loans`` (which already carries ``overdue_days``).

    Parameters
    ----------
    previous
        The result of the previous as-of date: loan_id, final_category, overdue_days,
        npl_cure_date. Drives RNW, RST's 次级, UPG and the cure date.
    bureau
        customer_id, overdue90_share: the debtor's debt at all banks overdue > 90 days (EXTB).
    overrides
        Approved 认定: loan_id, category, override_id (MAN).
    schedules
        The repayment schedules, to count installments paid since a cure (UPG).

    Returns
    -------
    The loans with ``rule_category``, ``final_category`` (1–5), ``final_category_label``,
    ``reasons`` (codes joined by ``;``), ``deviation`` (the bank's own category is better
    than the final one: hidden NPL), ``npl_cure_date``, ``override_id``,
    ``override_refused`` and ``upgrade_allowed`` (the UPG conditions hold, so a 认定 better
    than the rule category would be accepted).
    """
    day = ibis.date(as_of)
    p = ruleset.parameters
    t = _with_history(complete(loans, LOANS), previous, bureau, overrides)
    t = t.mutate(_retail=t.retail.fill_null(t.customer_type.isin(RETAIL_CUSTOMER_TYPES)))
    t = t.mutate(_cure_date=_cure_date(t, day))
    t = _with_installments_since_cure(t, day, schedules)
    t = t.mutate(_released=_released(t, day, p))

    # Each rule's verdict becomes two columns, _fired_<code> and _cat_<code>, so that the
    # debtor-level BOR can be joined in and the verdicts read back from the joined table.
    loan_rules = [*_overdue_bands(t, ruleset), *_loan_rules(t, day, p)]
    t = t.mutate(**_verdict_columns(t, ruleset, loan_rules))
    t = t.mutate(_before_contagion=_worst(_verdicts(t, loan_rules)))
    t = _with_borrower_rule(t, ruleset, p)
    rules = _verdicts(t, [*loan_rules, Fired("BOR", t._bor, ibis.literal(3))])
    t = t.mutate(rule_category=_worst(rules))

    # a 认定 lapses once the loan is repaid
    has_override = t._override_category.notnull() & (t.balance > 0) & _applies(t, ruleset, "MAN")
    upgrade = t._override_category < t.rule_category
    refused = has_override & upgrade & ~t._released
    man = Fired("MAN", has_override & ~refused, t._override_category.cast("int8"))
    fired = [*rules, man]
    final = man.when.ifelse(t._override_category, t.rule_category).cast("int8")
    order = [b.code for b in ruleset.overdue] + list(REASON_ORDER)
    by_code = {r.code: r for r in fired}
    # one concat_ws skipping the rules that did not fire (nulls): ~16 concatenations a loan
    # of ever-longer strings cost twice as much at ten million loans
    reasons = ibis.literal(";").join(
        [by_code[code].when.ifelse(code, ibis.null("string")) for code in order if code in by_code]
    )
    t = t.mutate(
        final_category=final,
        final_category_label=ibis.cases(*((final == k, v) for k, v in CATEGORY_LABELS.items())),
        reasons=reasons,
        deviation=(t.bank_category.notnull() & (t.bank_category < final)).fill_null(False),
        npl_cure_date=t._cure_date,
        override_id=t._override_id,
        override_refused=refused.fill_null(False),
        upgrade_allowed=t._released,
    )
    return t.drop(*[c for c in t.columns if c.startswith("_")])


def _applies(t: ibis.Table, ruleset: RuleSet, code: str) -> ibis.Value:
    """Whether rule ``code`` applies to each loan: rule sets differ for retail and non-retail."""
    family = OVERDUE if code.startswith(OVERDUE) and code[len(OVERDUE) :].isdigit() else code
    retail, non_retail = ruleset.applies_to_retail(family), ruleset.applies_to_non_retail(family)
    return ibis.literal(retail) if retail == non_retail else t._retail.ifelse(retail, non_retail)


def _verdict_columns(t: ibis.Table, ruleset: RuleSet, rules: list[Fired]) -> dict[str, ibis.Value]:
    columns: dict[str, ibis.Value] = {}
    for rule in rules:
        columns[f"_fired_{rule.code}"] = _applies(t, ruleset, rule.code) & rule.when.fill_null(
            False
        )
        columns[f"_cat_{rule.code}"] = rule.category.cast("int8")
    return columns


def _verdicts(t: ibis.Table, rules: list[Fired]) -> list[Fired]:
    """The rules as read back from their verdict columns of ``t`` (BOR kept as given)."""
    return [
        r if r.code == "BOR" else Fired(r.code, t[f"_fired_{r.code}"], t[f"_cat_{r.code}"])
        for r in rules
    ]


def _worst(rules: list[Fired]) -> ibis.Value:
    return ibis.greatest(ibis.literal(1), *(r.when.ifelse(r.category, 1) for r in rules)).cast(
        "int8"
    )


def _with_history(
    t: ibis.Table,
    previous: ibis.Table | None,
    bureau: ibis.Table | None,
    overrides: ibis.Table | None,
) -> ibis.Table:
    """Join last period's result (this loan's, and the renewed loan's), the bureau and overrides."""
    if previous is None:
        t = t.mutate(
            _prev_category=ibis.null("int8"),
            _prev_cure_date=ibis.null("date"),
            _prior_category=ibis.null("int8"),
            _prior_overdue_days=ibis.null("int32"),
        )
    else:
        prev = complete(previous, PREVIOUS)
        own = prev.select(
            loan_id=prev.loan_id,
            _prev_category=prev.final_category.cast("int8"),
            _prev_cure_date=prev.npl_cure_date.cast("date"),
        )
        prior = prev.select(
            loan_id=prev.loan_id,
            _prior_category=prev.final_category.cast("int8"),
            _prior_overdue_days=prev.overdue_days.cast("int32"),
        )
        t = attach(attach(t, own, "loan_id"), prior, "prior_loan_id", "loan_id")
    if bureau is None:
        t = t.mutate(_bureau_share=ibis.null("float64"))
    else:
        t = attach(
            t,
            bureau.select(customer_id=bureau.customer_id, _bureau_share=bureau.overdue90_share),
            "customer_id",
        )
    if overrides is None:
        return t.mutate(_override_category=ibis.null("int8"), _override_id=ibis.null("string"))
    return attach(
        t,
        overrides.select(
            loan_id=overrides.loan_id,
            _override_category=overrides.category.cast("int8"),
            _override_id=overrides.override_id.cast("string"),
        ),
        "loan_id",
    )


def _cure_date(t: ibis.Table, day: ibis.Value) -> ibis.Value:
    """For a loan that was NPL last period: the as-of when its arrears were first found
    cleared (carried month to month), null while it is still in arrears."""
    was_npl = t._prev_category >= NPL_FLOOR
    cleared = t.overdue_days == 0
    return (was_npl & cleared).ifelse(t._prev_cure_date.fill_null(day), ibis.null("date"))


def _with_installments_since_cure(
    t: ibis.Table, day: ibis.Value, schedules: ibis.Table | None
) -> ibis.Table:
    """Count the installments that fell due after the cure date, up to the as-of date."""
    if schedules is None:
        return t.mutate(_installments_since_cure=ibis.null("int64"))
    cured = t.select(_loan=t.loan_id, _since=t._cure_date).filter(ibis._._since.notnull())
    dues = cured.inner_join(
        schedules.select("loan_id", "due_date"), cured._loan == schedules.loan_id
    )
    counted = (
        dues.filter((dues.due_date > dues._since) & (dues.due_date <= day))
        .group_by(loan_id=dues._loan)
        .aggregate(_installments_since_cure=ibis._.count())
    )
    return attach(t, counted, "loan_id")


def _released(t: ibis.Table, day: ibis.Value, p: dict[str, float]) -> ibis.Value:
    """The UPG conditions hold: arrears cleared, then paid normally for ``cure_months`` months
    and, for a scheduled loan, ``cure_installments`` installments, whichever spans longer."""
    months_ok = day >= t._cure_date + ibis.interval(months=int(p["cure_months"]))
    installments_ok = t.scheduled_installments.isnull() | (
        t._installments_since_cure.fill_null(0) >= int(p["cure_installments"])
    )
    return (t._cure_date.notnull() & months_ok & installments_ok).fill_null(False)


def _overdue_bands(t: ibis.Table, ruleset: RuleSet) -> list[Fired]:
    """Only the deepest band a loan's overdue days reach fires (OD90, not OD1 and OD90)."""
    bands = ruleset.overdue
    fired = []
    for band, deeper in zip(bands, [*bands[1:], None], strict=True):
        when = t.overdue_days > band.days_over
        if deeper is not None:
            when = when & (t.overdue_days <= deeper.days_over)
        fired.append(Fired(band.code, when, ibis.literal(band.category)))
    return fired


def _loan_rules(t: ibis.Table, day: ibis.Value, p: dict[str, float]) -> list[Fired]:
    lit: Callable[[int], ibis.Value] = ibis.literal
    ecl_share = (t.balance > 0).ifelse(t.ecl.fill_null(0) / t.balance, 0)
    in_observation = (
        t.restructure_date.notnull()
        & (t.restructure_date <= day)
        & (day < t.restructure_date + ibis.interval(months=int(p["observation_months"])))
    )
    was_npl = (t._prev_category >= NPL_FLOOR).fill_null(False)
    prior_npl = (t._prior_category >= NPL_FLOOR).fill_null(False)
    prior_overdue = (t._prior_overdue_days > 0).fill_null(False)
    return [
        Fired("IMP", t.impaired.fill_null(False), lit(3)),
        Fired("ECL50", (ecl_share >= p["ecl50_share"]) & (ecl_share < p["ecl90_share"]), lit(4)),
        Fired("ECL90", ecl_share >= p["ecl90_share"], lit(5)),
        Fired("EXT", t.extended_maturity_date.notnull(), lit(2)),
        Fired(
            "RNW", t.prior_loan_id.notnull() & (prior_npl | prior_overdue), prior_npl.ifelse(3, 2)
        ),
        Fired("RST", in_observation, was_npl.ifelse(3, 2)),
        Fired("RSTOD", in_observation & (t.overdue_days > 0), lit(4)),
        Fired("EXTB", ~t._retail & (t._bureau_share > p["bureau_overdue90_share"]), lit(3)),
        Fired("UPG", was_npl & ~t._released, lit(3)),
    ]


def _with_borrower_rule(t: ibis.Table, ruleset: RuleSet, p: dict[str, float]) -> ibis.Table:
    """BOR: a non-retail debtor with more than the threshold of its balance here in NPL
    (on the categories before this contagion) has all its loans at least 次级.

    Adds ``_bor``. Written-off loans are off the books and count on neither side.
    """
    live = ~t.written_off.fill_null(False)
    debtors = (
        t.filter(~t._retail)
        .group_by(_debtor=t.customer_id)
        .aggregate(
            _debtor_npl=money_sum(t.balance, where=live & (t._before_contagion >= NPL_FLOOR)),
            _debtor_balance=money_sum(t.balance, where=live),
        )
    )
    t = attach(t, debtors, "customer_id", "_debtor")
    share = (t._debtor_balance > 0).ifelse(t._debtor_npl / t._debtor_balance, 0)
    over = (~t._retail & (share > p["borrower_npl_share"])).fill_null(False)
    return t.mutate(_bor=_applies(t, ruleset, "BOR") & over)
