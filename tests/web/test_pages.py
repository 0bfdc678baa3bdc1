"""What the pages show, checked against the lake computed independently."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import loan_in, logged_in
from helpers import snapshot
from loanquality.common.scope import org_tree
from loanquality.engine.lake import PART_FILE, Lake
from loanquality.operations.models import CloseRun, ImportRun
from loanquality.portfolio.selectors import loan_history

NEW_DATE = dt.date(2030, 1, 31)


def _npl_ratio_by_hand(data_dir, orgs) -> float:
    """Σ balance of live loans in category ≥ 3 / Σ balance of live loans, over ``orgs``."""
    lake = Lake(data_dir)
    loans = lake.read("classified", lake.as_ofs("classified")[-1]).to_pylist()
    live = [
        r for r in loans if r["org_id"] in orgs and not r["written_off"] and not r["off_balance"]
    ]
    return sum(r["balance"] for r in live if r["final_category"] >= 3) / sum(
        r["balance"] for r in live
    )


def test_dashboard_ratio_is_the_subtrees_npl_over_its_balance(officer, places, data_dir):
    page = logged_in(officer).get("/")
    shown = page.context["board"]["row"]["npl_ratio"]
    assert abs(shown - _npl_ratio_by_hand(data_dir, set(org_tree().subtree(places.outlet)))) < 1e-12
    assert f"{shown:.2%}" in page.content.decode()


def _on_the_books(data_dir, keep) -> list[dict]:
    """The latest close's loans on the books (neither written off nor off balance) that
    ``keep`` accepts, read from the lake."""
    lake = Lake(data_dir)
    loans = lake.read("classified", lake.as_ofs("classified")[-1]).to_pylist()
    return [r for r in loans if not r["written_off"] and not r["off_balance"] and keep(r)]


def test_analysis_drills_from_the_bank_to_coops_outlets_and_officers(head_office, places, data_dir):
    client = logged_in(head_office)
    bank = client.get("/analysis/")
    assert places.coop in [r["key"] for r in bank.context["rows"]]
    coop = client.get("/analysis/", {"org": places.coop})
    assert {r["key"] for r in coop.context["rows"]} == set(org_tree().children(places.coop))
    assert coop.context["officers"], "a co-op lists the officers who belong to it"
    officer_row = coop.context["officers"][0]
    # the officer's loans (as 管户) on the books, counted and summed from the lake: the
    # metric row and the officer's loan list both show exactly these
    theirs = _on_the_books(data_dir, lambda r: r["manager_id"] == officer_row["key"])
    assert theirs
    by_hand = round(sum(r["balance"] for r in theirs), 2)
    assert (officer_row["loan_count"], round(officer_row["balance"], 2)) == (len(theirs), by_hand)
    listed = client.get("/loans/", {"manager": officer_row["key"]}).context["result"]
    assert (listed.total, round(listed.total_balance, 2)) == (len(theirs), by_hand)
    # an outlet has neither sub-units nor staff of its own: it links to its loan list
    outlet = client.get("/analysis/", {"org": places.outlet})
    assert (outlet.context["rows"], outlet.context["officers"]) == ([], [])
    as_of = outlet.context["as_of"].isoformat()
    link = f'<a href="/loans/?as_of={as_of}&org={places.outlet}">查看本机构贷款清单 →</a>'
    assert outlet.content.decode().count(link) == 1


def test_npl_link_lists_exactly_the_npl_loans(head_office, places, data_dir):
    client = logged_in(head_office)
    page = client.get("/loans/", {"org": places.coop, "kind": "npl"})
    coop_row = client.get("/analysis/", {"org": places.coop}).context["self_row"]
    coop_orgs = set(org_tree().subtree(places.coop))
    npl = _on_the_books(data_dir, lambda r: r["org_id"] in coop_orgs and r["final_category"] >= 3)
    assert npl
    by_hand = round(sum(r["balance"] for r in npl), 2)
    result = page.context["result"]
    assert (result.total, round(result.total_balance, 2)) == (len(npl), by_hand)
    assert round(coop_row["npl_balance"], 2) == by_hand
    # the first page: the largest NPL loans by hand (balance descending, loan id on ties)
    first = sorted(npl, key=lambda r: (-r["balance"], r["loan_id"]))[: len(result.rows)]
    assert [r["loan_id"] for r in result.rows] == [r["loan_id"] for r in first]
    assert {r["final_category"] for r in result.rows} <= {3, 4, 5}


def test_loan_detail_shows_every_close_with_reasons(head_office, data_dir):
    loan = loan_in(data_dir, list(org_tree().names))
    page = logged_in(head_office).get(f"/loans/{loan['loan_id']}/")
    assert page.status_code == 200
    history = page.context["history"]
    assert [h["as_of"] for h in history] == sorted((h["as_of"] for h in history), reverse=True)
    assert history[0]["reasons"] == loan["reasons"]


def test_search_flags_customers_with_npl_history(head_office, data_dir):
    lake = Lake(data_dir)
    loans = lake.read("classified", lake.as_ofs("classified")[-1])
    npl = loans.filter(pc.greater_equal(loans.column("final_category"), 3)).slice(0, 1)
    customer = npl.column("customer_id")[0].as_py()
    page = logged_in(head_office).get("/search/", {"q": customer})
    (found,) = page.context["customers"]
    assert found["had_npl"] is True
    assert "曾有不良贷款" in page.content.decode()


def test_uploading_a_bad_ledger_shows_the_chinese_report_and_writes_nothing(
    head_office, own_data_dir
):
    before = snapshot(own_data_dir / "lake")
    bad = (
        "借据号,客户号,客户类型,机构号,贷款余额,发放日,到期日\n"
        "X1,C1,农户,L0000,abc,2024-01-01,2025-01-01\n"
    )
    page = logged_in(head_office).post(
        "/operations/import/",
        {"as_of": "2030-01-31", "loans": SimpleUploadedFile("台账.csv", bad.encode("utf-8"))},
    )
    text = page.content.decode()
    assert page.status_code == 400
    assert "台账.csv 第2行 列「贷款余额」 值&#x27;abc&#x27;：不是有效数字" in text
    assert snapshot(own_data_dir / "lake") == before
    assert ImportRun.objects.get().status == "rejected"
    # the form keeps the date typed and names the file chosen (a browser cannot keep it)
    assert 'value="2030-01-31"' in text
    assert "上次选择：台账.csv" in text


def test_a_good_upload_publishes_and_a_close_runs_from_the_page(head_office, own_data_dir):
    # given twenty loans of the last ledger, uploaded as Parquet for a new date
    lake = Lake(own_data_dir)
    ledger = lake.read("loans", lake.as_ofs("loans")[-1]).slice(0, 20)
    buffer = io.BytesIO()
    pq.write_table(ledger, buffer)
    client = logged_in(head_office)
    page = client.post(
        "/operations/import/",
        {"as_of": "2030-01-31", "loans": SimpleUploadedFile("loans.parquet", buffer.getvalue())},
    )
    # then they are published
    assert page.status_code == 200
    assert lake.read("loans", NEW_DATE).num_rows == 20
    # and a close started from the page runs to the end and publishes the metrics
    assert client.post("/operations/close/", {"as_of": "2030-01-31"}).status_code == 302
    run = CloseRun.objects.get()
    assert (run.status, run.percent) == ("done", 100), run.error
    assert lake.has("metrics", NEW_DATE)
    status = client.get(f"/operations/close/{run.pk}/").content.decode()
    assert status.startswith(f'<tr id="close-run-{run.pk}" >')  # done: no longer polled
    assert '<td class="status">已完成</td>' in status
    assert ">100%</div>" in status


def test_closing_a_date_never_imported_is_refused(head_office):
    answer = logged_in(head_office).post("/operations/close/", {"as_of": "2031-01-31"}, follow=True)
    assert answer.redirect_chain == [("/operations/close/", 302)]
    refused = [(m.level_tag, str(m)) for m in answer.context["messages"]]
    assert refused == [("error", "报告日 2031-01-31 尚未导入借据台账，不能结账")]
    assert (
        '<div class="alert alert-danger py-1">报告日 2031-01-31 尚未导入借据台账，不能结账</div>'
        in answer.content.decode()
    )
    assert not CloseRun.objects.exists()


def test_a_malformed_or_out_of_range_report_date_is_400_in_chinese(head_office):
    """Never a server error, and the page says what is wrong with the date."""
    client = logged_in(head_office)
    asked = {
        "/?as_of=2024-1-31": "报告日：日期格式应为 YYYY-MM-DD（收到「2024-1-31」）",
        "/loans/?as_of=9999-12-31": (
            "报告日：日期应在 1900-01-01 至 2999-12-31 之间（收到「9999-12-31」）"
        ),
        "/analysis/export.xlsx?as_of=2024-02-30": "报告日：不是有效日期（收到「2024-02-30」）",
    }
    for url, message in asked.items():
        # when a page is asked for with a bad report date
        page = client.get(url)
        # then it is refused with the reason, in Chinese
        assert page.status_code == 400, url
        assert f'<p class="mb-1">{message}</p>' in page.content.decode(), url


def test_a_report_date_never_closed_is_404_saying_so_in_chinese(head_office):
    """The page says the view's reason; an unknown address says only that nothing is there."""
    client = logged_in(head_office)
    # when a date never closed, and an address that does not exist, are asked for
    never_closed = client.get("/", {"as_of": "2030-01-31"})
    unknown = client.get("/no-such-page/")
    # then both are 404 pages in Chinese
    assert (never_closed.status_code, unknown.status_code) == (404, 404)
    assert '<p class="mb-1">该报告日尚未结账</p>' in never_closed.content.decode()
    assert '<p class="mb-1">没有您要找的页面或数据。</p>' in unknown.content.decode()


def test_a_page_number_past_any_ledger_is_an_empty_page(head_office):
    answer = logged_in(head_office).get("/loans/", {"kind": "npl", "page": str(10**40)})
    assert answer.status_code == 200


def test_a_close_published_before_a_column_existed_still_searches(head_office, own_data_dir):
    """A bank upgrades: its first close was published before ``upgrade_allowed`` existed.
    Search and the loan page read every close together: they must answer, and keep the
    newer close's column (empty for the older close)."""
    lake = Lake(own_data_dir)
    first, latest = lake.as_ofs("classified")[0], lake.as_ofs("classified")[-1]
    path = lake.partition("classified", first) / PART_FILE
    older = pq.read_table(path)
    pq.write_table(older.drop_columns(["upgrade_allowed"]), path)
    loan = older.slice(0, 1).to_pylist()[0]
    page = logged_in(head_office).get("/search/", {"q": loan["customer_id"]})
    assert page.status_code == 200
    assert [c["customer_id"] for c in page.context["customers"]] == [loan["customer_id"]]
    history = {h["as_of"]: h for h in loan_history(loan["loan_id"])}
    assert history[first]["upgrade_allowed"] is None
    assert history[latest]["upgrade_allowed"] in (True, False)

    # and the other way round: a later close without a column an earlier one has
    later = lake.partition("classified", latest) / PART_FILE
    pq.write_table(pq.read_table(later).drop_columns(["override_refused"]), later)
    page = logged_in(head_office).get("/search/", {"q": loan["customer_id"]})
    assert page.status_code == 200
