"""Reads that name people or runs stay inside the user's subtree too."""

from __future__ import annotations

from conftest import loan_in, logged_in
from loanquality.common.scope import org_tree, scope_of
from loanquality.engine.lake import Lake
from loanquality.portfolio import selectors


def _staff_elsewhere(data_dir, outlet: str) -> dict:
    """An officer of the bank whose org lies outside ``outlet``'s subtree."""
    lake = Lake(data_dir)
    staff = lake.read("staff", lake.as_ofs("staff")[-1]).to_pylist()
    inside = set(org_tree().subtree(outlet))
    return next(s for s in staff if s["org_id"] not in inside and s["name"])


def test_a_manager_from_elsewhere_is_not_named_in_the_list_title(officer, places, data_dir):
    other = _staff_elsewhere(data_dir, places.outlet)
    page = logged_in(officer).get(f"/loans/?manager={other['staff_id']}")
    assert page.status_code == 200
    # the id the user typed comes back; the name the bank's staff table holds does not
    outlet = org_tree().name(places.outlet)
    assert (
        page.context["title"]
        == f"贷款清单 · {outlet} · 客户经理 {other['staff_id']} · 全部在册贷款"
    )
    assert other["name"] not in page.content.decode()


def test_staff_names_are_the_subtrees_for_a_branch_and_everyones_for_the_head_office(
    officer, head_office, places, data_dir
):
    lake = Lake(data_dir)
    staff = lake.read("staff", lake.as_ofs("staff")[-1]).to_pylist()
    inside = set(org_tree().subtree(places.outlet))
    as_of = lake.as_ofs("classified")[-1]
    assert set(selectors.staff_names(as_of, scope_of(officer))) == {
        s["staff_id"] for s in staff if s["org_id"] in inside
    }
    assert set(selectors.staff_names(as_of, scope_of(head_office))) == {
        s["staff_id"] for s in staff
    }


def test_an_officer_of_a_loan_in_scope_is_named(officer, places, data_dir):
    mine = loan_in(data_dir, org_tree().subtree(places.outlet))
    page = logged_in(officer).get(f"/loans/?manager={mine['manager_id']}")
    assert "客户经理 " + selectors.staff_names()[mine["manager_id"]] in page.context["title"]


def test_a_close_runs_progress_is_the_legal_entitys_alone(make_user, head_office, places):
    from loanquality.operations.models import CloseRun

    run = CloseRun.objects.create(as_of="2024-01-31", user=head_office, steps_total=1)
    branch = make_user("branch-credit", "credit_dept", places.coop)
    refused = logged_in(branch).get(f"/operations/close/{run.pk}/")
    assert refused.status_code == 403
    assert "只能由法人机构" in refused.content.decode()
    assert logged_in(head_office).get(f"/operations/close/{run.pk}/").status_code == 200
