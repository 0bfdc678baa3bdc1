"""``loanquality signals``: a close's early-warning signals as JSON, CSV or Excel, filtered by
code and by an org's subtree; bad input is said in both languages, exit 2."""

import csv
import datetime as dt
import io
import json

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from loanquality.cli import app
from loanquality.engine.close import run_close
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake

runner = CliRunner()
JAN, FEB = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
ROW_KEYS = [
    "code",
    "label",
    "severity",
    "loan_id",
    "customer_id",
    "org_id",
    "manager_id",
    "value",
    "threshold",
    "evidence",
]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def loan(loan_id: str, org: str, **values) -> dict:
    return {
        "loan_id": loan_id,
        "customer_id": "C-" + loan_id,
        "customer_name": "客户" + loan_id,
        "customer_type": "corporate",
        "org_id": org,
        "manager_id": "S1",
        "balance": 10_000.0,
        "issue_date": dt.date(2023, 1, 1),
        "maturity_date": dt.date(2030, 1, 1),
        "principal_overdue_days": 0,
        **values,
    }


def write(path, rows: list[dict]):
    columns = list(dict.fromkeys(k for r in rows for k in r))
    pq.write_table(pa.table({c: [r.get(c) for r in rows] for c in columns}), path)
    return path


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """January and February closed. The org tree R > B01, B02 > B021. February:

    - L1 (B01) due 2024-04-15, 46 days on: MAT3M (severity 1);
    - L2 (B021) due 2024-03-15, 15 days on: MAT1M (2);
    - L3 (B02) 0 days overdue in January, 20 in February: OVD_FIRST (2), DOWNGRADE (2).
    """
    root = tmp_path_factory.mktemp("signals-cli")
    orgs = [
        {"org_id": "R", "org_name": "联社", "parent_id": None},
        {"org_id": "B01", "org_name": "甲社", "parent_id": "R"},
        {"org_id": "B02", "org_name": "乙社", "parent_id": "R"},
        {"org_id": "B021", "org_name": "乙社一部", "parent_id": "B02"},
    ]
    months = {
        JAN: [loan("L1", "B01"), loan("L2", "B021"), loan("L3", "B02")],
        FEB: [
            loan("L1", "B01", maturity_date=dt.date(2024, 4, 15)),
            loan("L2", "B021", maturity_date=dt.date(2024, 3, 15)),
            loan("L3", "B02", principal_overdue_days=20, overdue_principal=100.0),
        ],
    }
    data = root / "data"
    for as_of, loans in months.items():
        files = {
            "loans": write(root / f"loans-{as_of}.parquet", loans),
            "orgs": write(root / f"orgs-{as_of}.parquet", orgs),
        }
        import_as_of(data, as_of, files)
        run_close(data, as_of)
    return data


def test_json_lists_every_signal_worst_first(closed):
    result = run("signals", "--data-dir", closed, "--as-of", FEB)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["as_of"], document["ruleset"]) == ("2024-02-29", "cn-2023")
    rows = document["rows"]
    assert [list(r) for r in rows] == [ROW_KEYS] * 4
    # severity 2 first (by org: B02 before B021, then code), MAT3M's 1 last
    assert [(r["severity"], r["org_id"], r["loan_id"], r["code"]) for r in rows] == [
        (2, "B02", "L3", "DOWNGRADE"),
        (2, "B02", "L3", "OVD_FIRST"),
        (2, "B021", "L2", "MAT1M"),
        (1, "B01", "L1", "MAT3M"),
    ]
    mat3m = rows[-1]
    assert mat3m["label"] == "到期监测（监测通知书）"
    # the window ends 2024-02-29 + 3 months = 2024-05-29: 31 + 30 + 29 = 90 days on
    assert (mat3m["value"], mat3m["threshold"]) == (46.0, 90.0)
    assert mat3m["evidence"] == "贷款将于2024-04-15到期，距报告日46天（监测期限3个月）"
    assert (mat3m["customer_id"], mat3m["manager_id"]) == ("C-L1", "S1")


def test_codes_and_an_orgs_subtree_filter_the_rows(closed):
    by_code = run(
        "signals", "--data-dir", closed, "--as-of", FEB, "--code", "MAT3M", "--code", "MAT1M"
    )
    assert by_code.exit_code == 0, by_code.output
    assert [r["loan_id"] for r in json.loads(by_code.stdout)["rows"]] == ["L2", "L1"]
    # B02's subtree holds B02 and B021, not B01
    by_org = run("signals", "--data-dir", closed, "--as-of", FEB, "--org", "B02")
    assert by_org.exit_code == 0, by_org.output
    rows = json.loads(by_org.stdout)["rows"]
    assert [(r["org_id"], r["code"]) for r in rows] == [
        ("B02", "DOWNGRADE"),
        ("B02", "OVD_FIRST"),
        ("B021", "MAT1M"),
    ]
    both = run("signals", "--data-dir", closed, "--as-of", FEB, "--org", "B021", "--code", "MAT3M")
    assert json.loads(both.stdout)["rows"] == []


def test_csv_has_chinese_headers_and_every_column(closed):
    result = run("signals", "--data-dir", closed, "--as-of", FEB, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert rows[0] == [
        "信号代码",
        "预警信号",
        "严重程度",
        "借据号",
        "客户号",
        "客户名称",
        "机构号",
        "客户经理",
        "测量值",
        "阈值",
        "预警依据",
        "处理期限（天）",
    ]
    assert len(rows) == 1 + 4
    last = rows[-1]
    assert last[:6] == ["MAT3M", "到期监测（监测通知书）", "低", "L1", "C-L1", "客户L1"]
    assert last[-1] == "30"  # severity 1: 30 days


def test_xlsx_is_written_to_the_file(closed, tmp_path):
    out = tmp_path / "预警.xlsx"
    result = run("signals", "--data-dir", closed, "--as-of", FEB, "--format", "xlsx", "-o", out)
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out).active
    assert sheet.title == "预警信号 2024-02-29"
    assert [c.value for c in sheet[1]][:3] == ["信号代码", "预警信号", "严重程度"]
    assert sheet.max_row == 1 + 4
    assert [sheet.cell(2, c).value for c in (1, 3, 4)] == ["DOWNGRADE", "中", "L3"]


def test_bad_codes_and_org_are_all_said_at_once_exit_2(closed, tmp_path):
    out = tmp_path / "out.json"
    result = run(
        "signals",
        "--data-dir",
        closed,
        "--as-of",
        FEB,
        "--code",
        "MAT2M",
        "--org",
        "B99",
        "-o",
        out,
    )
    assert result.exit_code == 2
    assert "signals column --code value 'MAT2M': unknown signal code" in result.output
    assert "未知的预警信号代码" in result.output
    assert "signals column --org value 'B99': no such org on this date" in result.output
    assert "该报告日的机构表中无此机构" in result.output
    assert "2 problem(s) / 共 2 处错误" in result.output
    assert not out.exists()


def test_a_date_without_a_close_exits_2(closed):
    result = run("signals", "--data-dir", closed, "--as-of", "2024-03-31")
    assert result.exit_code == 2
    assert "no close for this date: run loanquality close first" in result.output
    assert "该报告日尚未结账，请先运行月末结账" in result.output


def test_xlsx_needs_an_output_file(closed):
    result = run("signals", "--data-dir", closed, "--as-of", FEB, "--format", "xlsx")
    assert result.exit_code == 2
    assert "Excel 格式须用 -o 指定文件" in result.output
    bad = run("signals", "--data-dir", closed, "--as-of", FEB, "--format", "pdf")
    assert bad.exit_code == 2
    assert "应为 json、csv 或 xlsx" in bad.output


def test_the_lake_is_left_as_it_was(closed):
    before = Lake(closed).read("signals", FEB)
    run("signals", "--data-dir", closed, "--as-of", FEB, "--code", "NOPE")
    assert Lake(closed).read("signals", FEB).equals(before)
