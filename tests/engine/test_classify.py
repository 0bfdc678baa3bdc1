"""Each classification rule and its boundaries, with the arithmetic written out (SPEC §4).

Every case runs on DuckDB and on PySpark, its inputs tables of that backend's connection
(``classifying.run``). The PySpark cases are marked ``spark``; one case per rule family is
``spark`` only, the rest also ``slow``. ``pytest -m spark`` runs every PySpark case,
``pytest -m "spark and not slow"`` the one-per-family subset, ``pytest -m "not spark"`` DuckDB
alone."""

import datetime as dt
import hashlib

import pytest

from backends import ENGINE, ENGINE_SLOW, engines
from classifying import loan, one, run
from loanquality.engine.problems import InputRejected
from loanquality.engine.rules import load_ruleset, shipped_rulesets

AS_OF = dt.date(2024, 6, 30)


@pytest.mark.parametrize(
    ("engine", "days", "category", "reasons"),
    engines(
        [
            (0, 1, ""),
            (1, 2, "OD1"),
            (90, 2, "OD1"),
            (91, 3, "OD90"),
            (270, 3, "OD90"),
            (271, 4, "OD270"),
            (360, 4, "OD270"),
            (361, 5, "OD360"),
        ],
        fast=3,
    ),
)
def test_overdue_bands_of_the_2023_rules(engine, days, category, reasons):
    """'Overdue more than N days': 90 days is still 关注, 91 is 次级."""
    r = one({"interest_overdue_days": days}, AS_OF, engine=engine)
    assert (r["overdue_days"], r["final_category"], r["reasons"]) == (days, category, reasons)


@pytest.mark.parametrize(
    ("engine", "ruleset", "days", "category"),
    engines(
        [
            ("cn-credit-card", 90, 2),
            ("cn-credit-card", 91, 3),
            ("cn-credit-card", 120, 3),
            ("cn-credit-card", 121, 4),
            ("cn-credit-card", 180, 4),
            ("cn-credit-card", 181, 5),
            ("cn-rural-retail", 180, 3),
            ("cn-rural-retail", 181, 4),
            ("cn-rural-retail", 360, 4),
            ("cn-rural-retail", 361, 5),
        ],
        fast=1,
    ),
)
def test_other_shipped_rule_sets(engine, ruleset, days, category):
    r = one({"interest_overdue_days": days}, AS_OF, ruleset=ruleset, engine=engine)
    assert r["final_category"] == category


@ENGINE
def test_impaired_is_at_least_substandard(engine):
    r = one({"impaired": True}, AS_OF, engine=engine)
    assert (r["final_category"], r["reasons"]) == (3, "IMP")


@pytest.mark.parametrize(
    ("engine", "ecl", "category", "reasons"),
    engines(
        [(499.99, 1, ""), (500.0, 4, "ECL50"), (899.99, 4, "ECL50"), (900.0, 5, "ECL90")],
        fast=1,
    ),
)
def test_expected_credit_loss_share_of_balance(engine, ecl, category, reasons):
    """Balance 1 000: ECL 500 is 50 % → 可疑; 900 is 90 % → 损失."""
    r = one({"ecl": ecl}, AS_OF, engine=engine)
    assert (r["final_category"], r["reasons"]) == (category, reasons)


@ENGINE
def test_renewal_of_an_overdue_loan_is_special_mention_of_an_npl_loan_substandard(engine):
    previous = [
        {"loan_id": "OLD1", "final_category": 2, "overdue_days": 15},
        {"loan_id": "OLD2", "final_category": 3, "overdue_days": 100},
        {"loan_id": "OLD3", "final_category": 1, "overdue_days": 0},
    ]
    result = run(
        [
            loan("N1", prior_loan_id="OLD1"),
            loan("N2", prior_loan_id="OLD2"),
            loan("N3", prior_loan_id="OLD3"),
        ],
        AS_OF,
        previous=previous,
        engine=engine,
    )
    assert (result["N1"]["final_category"], result["N1"]["reasons"]) == (2, "RNW")
    assert (result["N2"]["final_category"], result["N2"]["reasons"]) == (3, "RNW")
    assert (result["N3"]["final_category"], result["N3"]["reasons"]) == (1, "")


@pytest.mark.parametrize(
    ("engine", "as_of", "inside"),
    engines(
        [(dt.date(2024, 1, 15), True), (dt.date(2025, 1, 14), True), (dt.date(2025, 1, 15), False)],
        fast=None,
    ),
)
def test_restructuring_observation_period_edges(engine, as_of, inside):
    """Restructured 15 Jan 2024; twelve months later, 15 Jan 2025, the period is over."""
    r = one({"restructure_date": dt.date(2024, 1, 15)}, as_of, engine=engine)
    assert (r["final_category"], r["reasons"]) == ((2, "RST") if inside else (1, ""))


@ENGINE
def test_restructured_npl_stays_substandard_and_overdue_again_is_doubtful(engine):
    npl_before = [
        {
            "loan_id": "L1",
            "final_category": 3,
            "overdue_days": 0,
            "npl_cure_date": dt.date(2024, 5, 31),
        }
    ]
    r = one({"restructure_date": dt.date(2024, 3, 10)}, AS_OF, previous=npl_before, engine=engine)
    assert r["final_category"] == 3
    assert "RST" in r["reasons"].split(";")
    r = one(
        {"restructure_date": dt.date(2024, 3, 10), "interest_overdue_days": 5}, AS_OF, engine=engine
    )
    assert (r["final_category"], r["reasons"]) == (4, "OD1;RST;RSTOD")


def corporate(loan_id, balance, days=0, customer="ACME", **values):
    return loan(
        loan_id,
        customer_id=customer,
        customer_type="corporate",
        balance=balance,
        interest_overdue_days=days,
        **values,
    )


@ENGINE_SLOW
def test_borrower_contagion_at_exactly_10_percent_does_not_fire(engine):
    """NPL 10 of 100 = 10 %: not more than 10 %, the performing loan stays 正常."""
    result = run([corporate("A", 10.0, days=100), corporate("B", 90.0)], AS_OF, engine=engine)
    assert (result["B"]["final_category"], result["B"]["reasons"]) == (1, "")


@ENGINE
def test_borrower_contagion_just_over_10_percent_makes_every_loan_substandard(engine):
    """NPL 10.01 of 100 = 10.01 % > 10 %: loan B (performing) becomes 次级 by BOR."""
    result = run([corporate("A", 10.01, days=100), corporate("B", 89.99)], AS_OF, engine=engine)
    assert (result["B"]["final_category"], result["B"]["reasons"]) == (3, "BOR")
    assert result["A"]["reasons"] == "OD90;BOR"


@ENGINE_SLOW
def test_retail_debtors_are_untouched_by_borrower_contagion(engine):
    """A farmer with 50 % of the balance NPL: the other loan stays 正常."""
    farmer = {"customer_id": "F", "customer_type": "farmer"}
    result = run(
        [
            loan("A", balance=50.0, interest_overdue_days=100, **farmer),
            loan("B", balance=50.0, **farmer),
        ],
        AS_OF,
        engine=engine,
    )
    assert result["B"]["final_category"] == 1


@ENGINE_SLOW
def test_written_off_loans_do_not_count_in_borrower_contagion(engine):
    """The written-off NPL loan is gone from the books: 0 of 100 NPL, no BOR."""
    result = run(
        [corporate("A", 50.0, days=400, written_off=True), corporate("B", 100.0)],
        AS_OF,
        engine=engine,
    )
    assert result["B"]["final_category"] == 1


@pytest.mark.parametrize(
    ("engine", "values", "share", "category", "reasons"),
    engines(
        [
            # 20.01 % > 20 %, a corporate debtor: EXTB, 次级 (and so BOR: the debtor's one
            # loan is NPL, 1 000 of 1 000 = 100 % > 10 %)
            ({"customer_type": "corporate"}, 0.2001, 3, "BOR;EXTB"),
            # exactly 20 % is not more than 20 %
            ({"customer_type": "corporate"}, 0.20, 1, ""),
            # a micro enterprise is non-retail too
            ({"customer_type": "micro"}, 0.5, 3, "BOR;EXTB"),
            # retail debtors are untouched, by type or by the ledger's own retail flag
            ({"customer_type": "farmer"}, 0.9, 1, ""),
            ({"customer_type": "sole_proprietor"}, 0.9, 1, ""),
            ({"customer_type": "corporate", "retail": True}, 0.9, 1, ""),
            # no bureau row for the debtor: no share, no EXTB
            ({"customer_type": "corporate"}, None, 1, ""),
            # listed after the overdue band; 次级 either way
            (
                {"customer_type": "corporate", "interest_overdue_days": 100},
                0.5,
                3,
                "OD90;BOR;EXTB",
            ),
            # 可疑 by ECL (600 of 1 000 = 60 %) is worse: EXTB still listed
            ({"customer_type": "corporate", "ecl": 600.0}, 0.5, 4, "ECL50;BOR;EXTB"),
        ],
        fast=0,
    ),
)
def test_extb_fires_exactly_for_a_non_retail_debtor_over_20_percent_overdue_elsewhere(
    engine, values, share, category, reasons
):
    """EXTB (cn-2023): a non-retail debtor whose debt at all banks is more than 20 %
    overdue over 90 days (the bureau's share) is at least 次级; no one else gets EXTB."""
    bureau = (
        [{"customer_id": "C-L1", "overdue90_share": share}]
        if share is not None
        else [{"customer_id": "SOMEONE-ELSE", "overdue90_share": 0.9}]
    )
    r = one(values, AS_OF, bureau=bureau, engine=engine)
    assert (r["final_category"], r["reasons"]) == (category, reasons)


@ENGINE
def test_an_npl_loan_stays_substandard_until_cured_for_six_months(engine):
    """NPL last month, arrears cleared now: the cure date is today and UPG holds it at 次级."""
    previous = [{"loan_id": "L1", "final_category": 3, "overdue_days": 95}]
    r = one({}, AS_OF, previous=previous, engine=engine)
    assert (r["final_category"], r["reasons"], r["npl_cure_date"]) == (3, "UPG", AS_OF)


@ENGINE_SLOW
def test_an_npl_loan_still_in_arrears_has_no_cure_date(engine):
    previous = [
        {
            "loan_id": "L1",
            "final_category": 3,
            "overdue_days": 95,
            "npl_cure_date": dt.date(2024, 1, 31),
        }
    ]
    r = one({"interest_overdue_days": 10}, AS_OF, previous=previous, engine=engine)
    assert (r["final_category"], r["reasons"], r["npl_cure_date"]) == (3, "OD1;UPG", None)


@pytest.mark.parametrize(
    ("engine", "as_of", "held"),
    engines(
        [(dt.date(2024, 7, 30), True), (dt.date(2024, 7, 31), False)],
        fast=None,
    ),
)
def test_cure_at_six_months_minus_and_plus_one_day(engine, as_of, held):
    """Arrears cleared on 31 Jan 2024; six months later is 31 Jul 2024."""
    previous = [
        {
            "loan_id": "L1",
            "final_category": 3,
            "overdue_days": 0,
            "npl_cure_date": dt.date(2024, 1, 31),
        }
    ]
    r = one({}, as_of, previous=previous, engine=engine)
    assert r["final_category"] == (3 if held else 1)
    assert r["npl_cure_date"] == dt.date(2024, 1, 31)


@ENGINE_SLOW
def test_two_installments_when_they_span_longer_than_six_months(engine):
    """Half-yearly installments (21 Jan, 21 Jul 2024, 21 Jan 2025), all paid. Cured on
    31 Jan 2024: by 31 Jul only one installment (21 Jul) fell due since: still held;
    by 31 Jan 2025 two have (21 Jul, 21 Jan): released."""
    dues = [dt.date(2024, 1, 21), dt.date(2024, 7, 21), dt.date(2025, 1, 21)]
    schedules = [
        {"loan_id": "L1", "seq": k + 1, "due_date": d, "principal_due": 100.0, "interest_due": 10.0}
        for k, d in enumerate(dues)
    ]
    repayments = [
        {"loan_id": "L1", "date": d, "principal_paid": 100.0, "interest_paid": 10.0} for d in dues
    ]
    previous = [
        {
            "loan_id": "L1",
            "final_category": 3,
            "overdue_days": 0,
            "npl_cure_date": dt.date(2024, 1, 31),
        }
    ]
    kwargs = {"previous": previous, "schedules": schedules, "repayments": repayments}
    assert one({}, dt.date(2024, 7, 31), **kwargs, engine=engine)["final_category"] == 3
    assert one({}, dt.date(2025, 1, 31), **kwargs, engine=engine)["final_category"] == 1


@ENGINE
def test_an_approved_downgrade_applies(engine):
    r = one(
        {}, AS_OF, overrides=[{"loan_id": "L1", "category": 4, "override_id": "R7"}], engine=engine
    )
    assert (r["rule_category"], r["final_category"], r["reasons"]) == (1, 4, "MAN")
    assert (r["override_id"], r["override_refused"]) == ("R7", False)


@ENGINE_SLOW
def test_an_override_upgrade_above_the_rules_is_refused(engine):
    """100 days overdue is 次级 by OD90; an override to 正常 is ignored and reported."""
    r = one(
        {"interest_overdue_days": 100},
        AS_OF,
        overrides=[{"loan_id": "L1", "category": 1, "override_id": "R8"}],
        engine=engine,
    )
    assert (r["final_category"], r["reasons"], r["override_refused"]) == (3, "OD90", True)


@ENGINE_SLOW
def test_an_override_upgrade_is_accepted_when_the_upg_conditions_hold(engine):
    """Restructured out of NPL (RST keeps 次级), cured eight months ago: an upgrade to 关注
    is accepted."""
    previous = [
        {
            "loan_id": "L1",
            "final_category": 3,
            "overdue_days": 0,
            "npl_cure_date": dt.date(2023, 10, 31),
        }
    ]
    r = one(
        {"restructure_date": dt.date(2024, 1, 10)},
        AS_OF,
        previous=previous,
        overrides=[{"loan_id": "L1", "category": 2, "override_id": "R9"}],
        engine=engine,
    )
    assert (r["rule_category"], r["final_category"], r["override_refused"]) == (3, 2, False)
    assert r["reasons"] == "RST;MAN"


@ENGINE
def test_final_is_the_worst_rule_and_every_fired_rule_is_listed(engine):
    r = one(
        {
            "interest_overdue_days": 100,
            "impaired": True,
            "ecl": 600.0,
            "extended_maturity_date": dt.date(2031, 1, 1),
        },
        AS_OF,
        engine=engine,
    )
    assert (r["final_category"], r["reasons"]) == (4, "OD90;IMP;ECL50;EXT")


@ENGINE
def test_deviation_flags_a_bank_category_kinder_than_the_rules(engine):
    result = run(
        [
            loan("A", interest_overdue_days=100, bank_category=2),
            loan("B", interest_overdue_days=100, bank_category=3),
            loan("C", bank_category=None),
        ],
        AS_OF,
        engine=engine,
    )
    assert [result[k]["deviation"] for k in "ABC"] == [True, False, False]


def test_shipped_rule_sets_and_their_hash():
    assert shipped_rulesets() == ["cn-2023", "cn-credit-card", "cn-rural-retail"]
    ruleset = load_ruleset("cn-2023")
    assert ruleset.overdue[-1].code == "OD360"
    assert "BOR" not in ruleset.retail_rules
    assert "BOR" in ruleset.non_retail_rules


@ENGINE_SLOW
def test_a_banks_own_rule_set_file(engine, tmp_path):
    text = (
        'name = "my-bank"\noverdue = [{ code = "OD1", days_over = 0, category = 2 },'
        ' { code = "OD60", days_over = 60, category = 3 }]\n'
        'retail_rules = ["OD"]\nnon_retail_rules = ["OD"]\n'
    )
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    ruleset = load_ruleset(path)
    assert ruleset.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert (
        one({"interest_overdue_days": 61}, AS_OF, ruleset=str(path), engine=engine)["reasons"]
        == "OD60"
    )


def test_a_rule_set_with_an_unknown_rule_is_rejected(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "x"\noverdue = []\nretail_rules = ["ODD"]\nnon_retail_rules = []\n',
        encoding="utf-8",
    )
    with pytest.raises(InputRejected, match="未知规则代码"):
        load_ruleset(path)


@ENGINE_SLOW
def test_an_override_lapses_once_the_loan_is_repaid(engine):
    """Balance 0: the 认定 no longer applies, the loan is classified by the rules alone."""
    r = one(
        {"balance": 0},
        AS_OF,
        overrides=[{"loan_id": "L1", "category": 4, "override_id": "R1"}],
        engine=engine,
    )
    assert (r["final_category"], r["reasons"], r["override_id"]) == (1, "", "R1")


@ENGINE_SLOW
def test_upgrade_allowed_says_whether_the_upg_conditions_hold(engine):
    """Cured 2023-10-31, as of 2024-01-31: three months of the six (UPG still fires);
    as of 2024-05-31: seven months, no schedule to count installments, so released."""
    previous = [
        {
            "loan_id": "L1",
            "final_category": 3,
            "overdue_days": 0,
            "npl_cure_date": dt.date(2023, 10, 31),
        }
    ]
    early = one({}, dt.date(2024, 1, 31), previous=previous, engine=engine)
    late = one({}, dt.date(2024, 5, 31), previous=previous, engine=engine)
    assert (early["reasons"], early["upgrade_allowed"]) == ("UPG", False)
    assert (late["final_category"], late["upgrade_allowed"]) == (1, True)
