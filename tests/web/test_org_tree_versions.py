"""The org tree is read once per published version of the data dir, and a new import (a
new version) is read afresh."""

import pyarrow as pa

from loanquality.common.scope import org_tree
from loanquality.engine.lake import Lake, Staged


def test_a_new_version_of_the_orgs_is_read_afresh(own_data_dir):
    # given the tree as the test bank's import left it
    lake = Lake(own_data_dir)
    as_of = lake.as_ofs("orgs")[-1]
    before = org_tree()
    root = before.root
    assert org_tree() is before  # the same version: read once
    # when the orgs are published again with the root renamed (a new version)
    orgs = lake.read("orgs", as_of).to_pylist()
    for row in orgs:
        if row["org_id"] == root:
            row["org_name"] = "改名后的联社"
    with lake.writing("import", as_of):
        lake.publish(
            as_of,
            Staged(tables={"orgs": pa.Table.from_pylist(orgs)}),
            {"import_id": "rename-test", "as_of": as_of.isoformat()},
            log_name="import_log.jsonl",
            replace=("orgs",),
        )
    # then the next read sees the new name
    assert org_tree().name(root) == "改名后的联社"
