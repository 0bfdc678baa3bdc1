"""认定 under maker–checker control: who may propose and decide, the upgrade refusal, the
effect on the loan and the indicators, later closes, the batch sheet, and the API."""

from __future__ import annotations

import io
import shutil

import openpyxl
import pyarrow.compute as pc
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from conftest import loan_in, logged_in
from loanquality.accounts.actions import issue_token
from loanquality.audit.models import AuditEntry
from loanquality.common.scope import org_tree
from loanquality.engine.lake import Lake
from loanquality.engine.schema import CATEGORY_LABELS
from loanquality.operations.actions import start_close
from loanquality.overrides import actions
from loanquality.overrides.models import Status
from loanquality.overrides.selectors import get_override


def latest(data_dir):
    return Lake(data_dir).as_ofs("classified")[-1]


def classified_row(data_dir, loan_id: str) -> dict:
    lake = Lake(data_dir)
    table = lake.read("classified", latest(data_dir))
    return table.filter(pc.equal(table.column("loan_id"), loan_id)).to_pylist()[0]


def total_metrics(data_dir) -> dict:
    lake = Lake(data_dir)
    table = lake.read("metrics", latest(data_dir))
    return table.filter(pc.equal(table.column("group_by"), "total")).to_pylist()[0]


def an_npl_loan_not_released(data_dir) -> dict:
    """A live loan the rules put in NPL whose UPG conditions do not hold."""
    rows = Lake(data_dir).read("classified", latest(data_dir)).to_pylist()
    return next(
        r
        for r in rows
        if r["rule_category"] >= 3
        and r["balance"] > 0
        and not r["written_off"]
        and not r["upgrade_allowed"]
    )


def a_loan(data_dir, orgs, **wanted) -> dict:
    """A live loan of the latest close in ``orgs`` whose fields equal ``wanted``."""
    lake = Lake(data_dir)
    for row in lake.read("classified", latest(data_dir)).to_pylist():
        if (
            row["org_id"] in orgs
            and row["balance"] > 0
            and not row["written_off"]
            and all(row[k] == v for k, v in wanted.items())
        ):
            return row
    raise AssertionError(f"no loan with {wanted} in {orgs}")


# --- who may do what -----------------------------------------------------------------


def test_the_maker_can_never_approve_their_own_proposal(data_dir, head_office, coop_orgs, places):
    loan = a_loan(data_dir, coop_orgs, final_category=1)
    override = actions.propose(head_office, loan["loan_id"], latest(data_dir), 3, "经营恶化")
    with pytest.raises(PermissionDenied, match="发起人不能审批自己发起的认定"):
        actions.approve(head_office, override.pk)
    assert get_override(head_office, override.pk).status == Status.PENDING


def test_an_officer_outside_the_loans_subtree_gets_404(data_dir, officer, places):
    elsewhere = loan_in(data_dir, [places.outlet], inside=False)
    with pytest.raises(Http404):
        actions.propose(officer, elsewhere["loan_id"], latest(data_dir), 3, "理由")
    page = logged_in(officer).get(f"/loans/{elsewhere['loan_id']}/override/")
    assert page.status_code == 404


def test_an_officer_proposes_only_for_loans_they_manage(data_dir, make_user, places):
    loan = a_loan(data_dir, [places.outlet], final_category=1)
    stranger = make_user("stranger", "officer", places.outlet)
    with pytest.raises(PermissionDenied, match="只能对自己管户"):
        actions.propose(stranger, loan["loan_id"], latest(data_dir), 3, "理由")
    manager = make_user("manager", "officer", places.outlet)
    manager.staff_id = loan["manager_id"]
    override = actions.propose(manager, loan["loan_id"], latest(data_dir), 3, "理由")
    assert override.maker == manager


def test_users_without_authority_get_403(data_dir, make_user, risk, coop_orgs, places):
    loan = a_loan(data_dir, coop_orgs, final_category=1)
    auditor = make_user("auditor", "auditor", places.root)
    with pytest.raises(PermissionDenied, match="不能发起认定"):
        actions.propose(auditor, loan["loan_id"], latest(data_dir), 3, "理由")
    override = actions.propose(risk, loan["loan_id"], latest(data_dir), 3, "理由")
    answer = logged_in(risk).post(f"/overrides/{override.pk}/", {"decision": "approve"})
    assert answer.status_code == 403  # a risk manager proposes but does not approve


def test_an_approver_of_another_coop_does_not_see_the_proposal(
    data_dir, risk, make_user, coop_orgs, places
):
    loan = a_loan(data_dir, coop_orgs, final_category=1)
    override = actions.propose(risk, loan["loan_id"], latest(data_dir), 3, "理由")
    other = make_user("other", "director", places.other_coop)
    with pytest.raises(Http404):
        actions.approve(other, override.pk)
    assert logged_in(other).get(f"/overrides/{override.pk}/").status_code == 404


def test_above_the_threshold_only_a_director_approves(
    own_data_dir, settings, risk, director, head_office, coop_orgs
):
    loan = a_loan(own_data_dir, coop_orgs, final_category=1)
    settings.OVERRIDE_DIRECTOR_ABOVE = str(loan["balance"] - 0.01)
    override = actions.propose(risk, loan["loan_id"], latest(own_data_dir), 2, "担保人失联")
    assert override.needs_director
    with pytest.raises(PermissionDenied, match="须由机构负责人审批"):
        actions.approve(head_office, override.pk)
    assert actions.approve(director, override.pk, "同意").status == Status.APPROVED


def test_only_the_maker_withdraws_and_only_while_pending(data_dir, risk, director, coop_orgs):
    loan = a_loan(data_dir, coop_orgs, final_category=1)
    override = actions.propose(risk, loan["loan_id"], latest(data_dir), 3, "理由")
    with pytest.raises(PermissionDenied, match="只有发起人可以撤回"):
        actions.withdraw(director, override.pk)
    actions.withdraw(risk, override.pk, "资料有误")
    with pytest.raises(ValidationError, match="已撤回"):
        actions.reject(director, override.pk, "不同意")


# --- the rules -----------------------------------------------------------------------


def test_an_upgrade_above_the_rule_category_is_refused_saying_why(data_dir, head_office):
    # given: an NPL loan held by UPG, with room for a worse category than its own
    rows = Lake(data_dir).read("classified", latest(data_dir)).to_pylist()
    loan = next(
        r
        for r in rows
        if r["rule_category"] in (3, 4)
        and r["final_category"] == r["rule_category"]
        and "UPG" in r["reasons"].split(";")
        and r["balance"] > 0
        and not r["written_off"]
        and not r["upgrade_allowed"]
    )
    with pytest.raises(ValidationError) as refused:
        actions.propose(head_office, loan["loan_id"], latest(data_dir), 2, "已恢复还款")
    assert refused.value.messages == [
        f"不能认定为关注：规则分类为{CATEGORY_LABELS[loan['rule_category']]}"
        f"（依据 {loan['reasons']}），优于规则分类的认定须满足不良贷款上调条件"
        "（UPG：已还清拖欠本息，此后正常还款满 2 期且不少于 6 个月），"
        "该贷款尚未满足，结账时不会采纳"
    ]
    assert not actions.Override.objects.exists()
    # a downgrade of the same loan, one category worse, is allowed
    worse = loan["final_category"] + 1
    override = actions.propose(head_office, loan["loan_id"], latest(data_dir), worse, "担保落空")
    assert (override.loan_id, override.category_before, override.category, override.status) == (
        loan["loan_id"],
        loan["final_category"],
        worse,
        Status.PENDING,
    )


def test_only_the_latest_close_and_one_pending_proposal_per_loan(data_dir, head_office, coop_orgs):
    lake = Lake(data_dir)
    first = lake.as_ofs("classified")[0]
    loan = a_loan(data_dir, coop_orgs, final_category=1)
    with pytest.raises(ValidationError, match="只能对最近一次结账"):
        actions.propose(head_office, loan["loan_id"], first, 3, "理由")
    with pytest.raises(ValidationError, match="请填写认定理由"):
        actions.propose(head_office, loan["loan_id"], latest(data_dir), 3, "  ")
    with pytest.raises(ValidationError, match="当前已是正常"):
        actions.propose(head_office, loan["loan_id"], latest(data_dir), 1, "理由")
    actions.propose(head_office, loan["loan_id"], latest(data_dir), 3, "理由")
    with pytest.raises(ValidationError, match="已有待审批的认定"):
        actions.propose(head_office, loan["loan_id"], latest(data_dir), 4, "理由")


# --- the effect ----------------------------------------------------------------------


def test_an_approval_shows_at_once_on_the_loan_and_in_the_indicators(
    own_data_dir, risk, director, coop_orgs
):
    loan = a_loan(own_data_dir, coop_orgs, final_category=1)
    before = total_metrics(own_data_dir)
    override = actions.propose(risk, loan["loan_id"], latest(own_data_dir), 3, "主营停产")
    assert classified_row(own_data_dir, loan["loan_id"])["final_category"] == 1  # not yet
    actions.approve(director, override.pk, "同意")

    row = classified_row(own_data_dir, loan["loan_id"])
    assert (row["rule_category"], row["final_category"]) == (1, 3)
    assert row["reasons"].split(";")[-1] == "MAN"
    assert row["override_id"] == str(override.pk)
    after = total_metrics(own_data_dir)
    # a 正常 loan became 次级: NPL grows by exactly its balance, the total balance stays
    assert after["balance"] == before["balance"]
    assert after["npl_balance"] == pytest.approx(before["npl_balance"] + loan["balance"], abs=0.005)
    assert after["npl_ratio"] == pytest.approx(
        (before["npl_balance"] + loan["balance"]) / before["balance"]
    )
    page = logged_in(director).get(f"/loans/{loan['loan_id']}/")
    assert "主营停产" in page.content.decode()
    assert "已通过" in page.content.decode()


def test_a_rejection_changes_nothing(own_data_dir, risk, director, coop_orgs):
    loan = a_loan(own_data_dir, coop_orgs, final_category=1)
    override = actions.propose(risk, loan["loan_id"], latest(own_data_dir), 3, "理由")
    with pytest.raises(ValidationError, match="退回时请填写审批意见"):
        actions.reject(director, override.pk, "")
    actions.reject(director, override.pk, "证据不足")
    assert classified_row(own_data_dir, loan["loan_id"])["final_category"] == 1
    assert not (own_data_dir / "overrides.parquet").exists()


def test_evidence_is_kept_and_served_only_within_scope(
    data_dir, risk, make_user, coop_orgs, places
):
    loan = a_loan(data_dir, coop_orgs, final_category=1)
    name = "借款人停产情况说明及相关证明材料" * 8 + ".pdf"  # longer than a file name may be
    override = actions.propose(
        risk,
        loan["loan_id"],
        latest(data_dir),
        3,
        "停产",
        [SimpleUploadedFile(name, "证明".encode())],
    )
    evidence = override.evidence.get()
    url = f"/overrides/{override.pk}/evidence/{evidence.pk}/"
    answer = logged_in(risk).get(url)
    assert b"".join(answer.streaming_content) == "证明".encode()
    outsider = make_user("outsider", "director", places.other_coop)
    assert logged_in(outsider).get(url).status_code == 404


# --- the audit rows ------------------------------------------------------------------


def test_every_step_is_audited_with_before_and_after(data_dir, risk, director, coop_orgs):
    loan = a_loan(data_dir, coop_orgs, final_category=1)
    override = actions.propose(risk, loan["loan_id"], latest(data_dir), 3, "理由")
    actions.reject(director, override.pk, "证据不足")
    rows = AuditEntry.objects.filter(target=loan["loan_id"]).order_by("seq")
    assert [r.action for r in rows] == ["override.propose", "override.reject"]
    assert rows[0].detail["before"] == {"category": 1}
    assert rows[0].detail["after"] == {"category": 3, "status": "pending"}
    assert rows[1].detail["after"] == {"category": 1, "status": "rejected"}
    assert rows[1].username == "director"
    assert rows[1].org_id == loan["org_id"]


# --- the batch sheet -----------------------------------------------------------------


def sheet(rows: list[list]) -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    book.active.append(["借据号", "认定分类", "认定理由"])
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("认定清单.xlsx", out.getvalue())


def test_a_batch_with_one_bad_row_creates_nothing_and_names_the_row(
    data_dir, risk, coop_orgs, places
):
    good = a_loan(data_dir, coop_orgs, final_category=1)
    elsewhere = loan_in(data_dir, coop_orgs, inside=False)
    upload = sheet([[good["loan_id"], "次级", "停产"], [elsewhere["loan_id"], "可疑", "失联"]])
    answer = logged_in(risk).post("/overrides/batch/", {"sheet": upload})
    assert answer.status_code == 400
    text = answer.content.decode()
    assert f"认定清单.xlsx 第3行 列「借据号」 值&#x27;{elsewhere['loan_id']}&#x27;" in text
    assert "没有这笔贷款，或不在您的机构范围内" in text
    assert not actions.Override.objects.exists()


def test_a_good_batch_creates_one_pending_proposal_per_row(data_dir, risk, coop_orgs):
    rows = Lake(data_dir).read("classified", latest(data_dir)).to_pylist()
    normal = [
        r
        for r in rows
        if r["org_id"] in coop_orgs
        and r["final_category"] == 1
        and r["balance"] > 0
        and not r["written_off"]
    ][:2]
    upload = sheet([[normal[0]["loan_id"], "关注", "行业下行"], [normal[1]["loan_id"], 3, "停产"]])
    answer = logged_in(risk).post("/overrides/batch/", {"sheet": upload})
    assert answer.status_code == 200, answer.content.decode()
    made = {o.loan_id: (o.category, o.status, o.batch) for o in actions.Override.objects.all()}
    assert made == {
        normal[0]["loan_id"]: (2, "pending", "认定清单.xlsx"),
        normal[1]["loan_id"]: (3, "pending", "认定清单.xlsx"),
    }


# --- the API -------------------------------------------------------------------------


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user)}"}


def test_the_api_proposes_approves_and_lists(client, own_data_dir, risk, director, coop_orgs):
    loan = a_loan(own_data_dir, coop_orgs, final_category=1)
    made = client.post(
        "/api/v1/overrides",
        {
            "loan_id": loan["loan_id"],
            "as_of": latest(own_data_dir).isoformat(),
            "category": 4,
            "reason": "借款人死亡",
        },
        content_type="application/json",
        **bearer(risk),
    )
    assert made.status_code == 200, made.content
    pk = made.json()["id"]
    own = client.post(
        f"/api/v1/overrides/{pk}/approve", {}, content_type="application/json", **bearer(risk)
    )
    assert own.status_code == 403
    pending = client.get("/api/v1/overrides", {"status": "pending"}, **bearer(director)).json()
    assert [o["id"] for o in pending] == [pk]
    approved = client.post(
        f"/api/v1/overrides/{pk}/approve",
        {"comment": "同意"},
        content_type="application/json",
        **bearer(director),
    )
    assert approved.json()["status"] == "approved"
    assert approved.json()["checker"] == "director"
    assert classified_row(own_data_dir, loan["loan_id"])["final_category"] == 4
    audit = client.get("/api/v1/audit", {"object": loan["loan_id"]}, **bearer(director)).json()
    # newest first: in force once its close was published, approved, proposed
    assert [a["action"] for a in audit] == [
        "override.apply",
        "override.approve",
        "override.propose",
    ]


def test_the_api_refuses_an_upgrade_with_400(client, data_dir, head_office):
    loan = an_npl_loan_not_released(data_dir)
    answer = client.post(
        "/api/v1/overrides",
        {
            "loan_id": loan["loan_id"],
            "as_of": latest(data_dir).isoformat(),
            "category": 1,
            "reason": "x",
        },
        content_type="application/json",
        **bearer(head_office),
    )
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("不能认定为正常")


@pytest.fixture(scope="module")
def three_month_bank(tmp_path_factory):
    """Three months imported, the first two closed: the third is the 'later close'."""
    from loanquality.engine.close import run_close
    from loanquality.engine.ingest import import_as_of
    from loanquality.synth.generator import generate_bank

    root = tmp_path_factory.mktemp("three-months")
    bank = generate_bank(root / "files", loans=800, months=3, seed=11)
    for as_of in bank.as_ofs:
        import_as_of(root / "data", as_of, bank.files(as_of), user="tests")
    for as_of in bank.as_ofs[:2]:
        run_close(root / "data", as_of, user="tests")
    return root / "data", bank.as_ofs


def test_later_closes_keep_the_approval_until_a_newer_one_replaces_it(
    three_month_bank, settings, tmp_path, make_user, places
):
    data_dir = tmp_path / "data"
    shutil.copytree(three_month_bank[0], data_dir, symlinks=True)
    settings.DATA_DIR = data_dir
    second, third = three_month_bank[1][1:]
    lake = Lake(data_dir)
    still_there = {r["loan_id"] for r in lake.read("loans", third).to_pylist() if r["balance"] > 0}
    loan = next(
        r
        for r in lake.read("classified", second).to_pylist()
        if r["final_category"] == 1 and r["balance"] > 0 and r["loan_id"] in still_there
    )
    root = next(o for o in org_tree().parents if org_tree().is_root(o))
    maker = make_user("maker", "risk", root)
    checker = make_user("checker", "credit_dept", root)
    override = actions.propose(maker, loan["loan_id"], second, 3, "停产")
    # the third month is closed before the approval: approving closes both again
    start_close(checker, third)
    actions.approve(checker, override.pk, "同意")
    for as_of in (second, third):
        row = classified_row_at(data_dir, loan["loan_id"], as_of)
        assert (row["final_category"], row["override_id"]) == (3, str(override.pk)), as_of
        assert row["reasons"].endswith("MAN")

    newer = actions.propose(maker, loan["loan_id"], third, 4, "借款人失联")
    actions.approve(checker, newer.pk, "同意")
    assert classified_row_at(data_dir, loan["loan_id"], third)["final_category"] == 4
    assert classified_row_at(data_dir, loan["loan_id"], second)["final_category"] == 3


def classified_row_at(data_dir, loan_id: str, as_of) -> dict:
    table = Lake(data_dir).read("classified", as_of)
    return table.filter(pc.equal(table.column("loan_id"), loan_id)).to_pylist()[0]


def test_an_id_too_large_for_the_database_is_404(client, head_office):
    huge = 2**70
    page = logged_in(head_office).get(f"/overrides/{huge}/")
    assert page.status_code == 404
    answer = client.post(
        f"/api/v1/overrides/{huge}/approve", {}, content_type="application/json",
        **bearer(head_office),
    )  # fmt: skip
    assert answer.status_code == 404
