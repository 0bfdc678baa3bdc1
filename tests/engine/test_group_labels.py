"""The Chinese label of each group key the close publishes with its metrics."""

import pyarrow as pa

from loanquality.engine.metrics.labels import with_labels


def test_every_grouping_with_codes_gets_its_chinese_name():
    """Orgs and officers by their tables, customer types and industries (GB/T 4754
    sections) by the code lists; an unknown code stays as it is, an empty key says so."""
    # given
    rows = pa.table(
        {
            "group_by": [
                "total",
                "org",
                "manager",
                "customer_type",
                "industry",
                "industry",
                "product",
            ],
            "key": ["", "L01", "S1", "farmer", "A", "Z9", None],
        }
    )
    orgs = pa.table({"org_id": ["L01"], "org_name": ["城关支行"], "parent_id": [None]})
    staff = pa.table({"staff_id": ["S1"], "name": ["张三"]})
    # when
    labelled = with_labels(rows, orgs, staff)
    # then
    assert labelled.column_names == ["group_by", "key", "label"]
    assert labelled.column("label").to_pylist() == [
        "全行",
        "城关支行",
        "张三",
        "农户",
        "农、林、牧、渔业",
        "Z9",
        "（未填写）",
    ]
