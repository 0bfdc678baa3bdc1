"""Properties of the classification that must hold for any loan (Hypothesis).

Each property runs on DuckDB (30 examples) and on PySpark (5 examples, the inputs tables of
the Spark connection); the PySpark runs are marked ``spark`` and ``slow``
(``pytest -m spark`` runs them)."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from backends import ENGINE_SLOW
from classifying import loan, run
from loanquality.engine.rules import load_ruleset

AS_OF = dt.date(2024, 6, 30)
RULES = load_ruleset("cn-2023")
FIXED = {b.code: b.category for b in RULES.overdue} | {
    "IMP": 3,
    "ECL50": 4,
    "ECL90": 5,
    "EXT": 2,
    "RSTOD": 4,
    "BOR": 3,
    "EXTB": 3,
    "UPG": 3,
}

loans = st.fixed_dictionaries(
    {
        "customer_type": st.sampled_from(["farmer", "individual", "corporate", "micro"]),
        "balance": st.floats(0, 1e7, allow_nan=False),
        "impaired": st.booleans(),
        "ecl_share": st.floats(0, 1),
        "extended": st.booleans(),
        "bank_category": st.integers(1, 5),
    }
)


def build(i, attributes, days, customer):
    return loan(
        f"L{i}",
        customer_id=customer,
        customer_type=attributes["customer_type"],
        balance=attributes["balance"],
        impaired=attributes["impaired"],
        ecl=attributes["ecl_share"] * attributes["balance"],
        extended_maturity_date=dt.date(2031, 1, 1) if attributes["extended"] else None,
        bank_category=attributes["bank_category"],
        interest_overdue_days=days,
    )


EXAMPLES = {"duckdb": 30, "pyspark": 5}


@ENGINE_SLOW
def test_more_overdue_days_never_give_a_better_category(engine):
    """Each loan classified with d days and with d + extra days (everything else equal,
    every loan its own debtor): the second category is never better."""

    @settings(max_examples=EXAMPLES[engine], deadline=None)
    @given(
        st.lists(
            st.tuples(loans, st.integers(0, 2000), st.integers(0, 400)), min_size=1, max_size=30
        )
    )
    def check(cases):
        fewer = run(
            [build(i, a, d, f"C{i}") for i, (a, d, _) in enumerate(cases)], AS_OF, engine=engine
        )
        more = run(
            [build(i, a, d + e, f"C{i}") for i, (a, d, e) in enumerate(cases)],
            AS_OF,
            engine=engine,
        )
        assert set(more) == set(fewer) == {f"L{i}" for i in range(len(cases))}
        for loan_id, result in fewer.items():
            assert more[loan_id]["final_category"] >= result["final_category"]

    check()


@ENGINE_SLOW
def test_final_category_is_the_worst_fired_rule(engine):
    """Loans share a few debtors so BOR can fire too; the final category is exactly the
    worst category among the rules listed in ``reasons`` (正常 when none fired)."""

    @settings(max_examples=EXAMPLES[engine], deadline=None)
    @given(
        st.lists(st.tuples(loans, st.integers(0, 500), st.integers(0, 3)), min_size=1, max_size=30)
    )
    def check(cases):
        result = run(
            [build(i, a, d, f"C{c}") for i, (a, d, c) in enumerate(cases)], AS_OF, engine=engine
        )
        assert len(result) == len(cases)
        for row in result.values():
            codes = [c for c in row["reasons"].split(";") if c]
            assert row["final_category"] == max([1, *(FIXED[c] for c in codes)])
            assert row["final_category"] == row["rule_category"]

    check()
