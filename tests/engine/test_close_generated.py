"""A close of a generated bank: org rows sum their subtree; a 100 000-loan bank end to end."""

import pytest

from loanquality.engine.close import run_close
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.synth.generator import generate_bank

ADDITIVE = (
    "loan_count",
    "balance",
    "npl_balance",
    "overdue_balance",
    "hidden_npl_balance",
    "provision_required",
    "part_maturity_due",
    "part_migration_base_c1",
)


@pytest.mark.slow
def test_a_100k_loan_bank_three_months_end_to_end(tmp_path):
    # given: a generated 100 000-loan bank of three months, imported
    bank = generate_bank(tmp_path / "files", loans=100_000, months=3, seed=21)
    data = tmp_path / "data"
    for as_of in bank.as_ofs:
        import_as_of(data, as_of, bank.files(as_of))
    # when: each month is closed
    results = [run_close(data, as_of) for as_of in bank.as_ofs]
    # then: every loan classified, metrics and migration published, org rows add up
    lake = Lake(data)
    assert [r.previous_as_of for r in results] == [None, *bank.as_ofs[:2]]
    last = bank.as_ofs[-1]
    assert lake.read("classified", last).num_rows == lake.read("loans", last).num_rows
    rows = lake.read("metrics", last).to_pylist()
    orgs = lake.read("orgs", last).to_pylist()
    by_key = {(r["group_by"], r["key"]): r for r in rows}
    total = by_key[("total", "total")]
    assert 0.005 < total["npl_ratio"] < 0.15
    assert 0.5 < total["maturity_recovery_rate"] <= 1
    for org in orgs:
        children = [o["org_id"] for o in orgs if o["parent_id"] == org["org_id"]]
        if not children:
            continue
        row = by_key[("org", org["org_id"])]
        for column in ADDITIVE:
            assert row[column] == pytest.approx(
                sum(by_key[("org", c)][column] for c in children), rel=1e-9
            ), (org["org_id"], column)
    root = next(o["org_id"] for o in orgs if o["parent_id"] is None)
    assert by_key[("org", root)]["balance"] == pytest.approx(total["balance"])
    for grouping in (
        "product",
        "customer_type",
        "manager",
        "industry",
        "guarantee_type",
        "village",
    ):
        assert sum(r["balance"] for r in rows if r["group_by"] == grouping) == pytest.approx(
            total["balance"]
        ), grouping
    assert lake.read("migration", last).num_rows > 0
