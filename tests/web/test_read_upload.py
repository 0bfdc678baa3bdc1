"""An app reads an upload as its own table spec, through the engine's reading."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loanquality.common.uploads import read_upload
from loanquality.engine.problems import InputRejected
from loanquality.engine.schema import Column, Kind, Table

# a table no import knows: what a workflow app (say, collection records) would own
RECORDS = Table(
    "records",
    "清收记录",
    (
        Column("date", "日期", Kind.DATE, required=True),
        Column("loan_id", "借据号", required=True),
        Column("principal", "收回本金", Kind.MONEY, required=True),
    ),
    unique=("date", "loan_id"),
)


def upload(text: str, name="清收记录.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_rows_of_an_apps_own_table_by_their_chinese_headers():
    rows = read_upload(upload('日期,借据号,收回本金\n2024-03-05,L1,"1,200.50"\n'), RECORDS)
    assert rows.data.select(["loan_id", "principal"]).to_pylist() == [
        {"loan_id": "L1", "principal": 1200.5}
    ]


def test_every_problem_of_the_file_at_once_with_its_own_name():
    bad = "日期,借据号,收回本金\n2024-02-30,L1,100\n2024-03-05,,abc\n2024-03-06,L2,-5\n"
    with pytest.raises(InputRejected) as caught:
        read_upload(upload(bad), RECORDS)
    found = {(p.file, p.line, p.column) for p in caught.value.problems}
    # line 2: no 30 February; line 3: no loan id and a number that is none; line 4: negative
    assert found == {
        ("清收记录.csv", 2, "date"),
        ("清收记录.csv", 3, "loan_id"),
        ("清收记录.csv", 3, "principal"),
        ("清收记录.csv", 4, "principal"),
    }
    assert caught.value.total == 4
