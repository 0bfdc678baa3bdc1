"""预警 pages (issue 17, item 4): the list's filters within the user's subtree, its Excel
with Chinese headers, the case page offering only the forms the user's role and the case's
state allow, a refused form keeping what was typed with its Chinese reason, and 我的待办.

Cases are made with the ORM on the shared bank's loans, so each count below is the cases
the test made, worked out by hand; the close's own signals are kept out by making the list
read find the close already synced (``no_sync``)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.utils import timezone

from conftest import loan_in, logged_in
from loanquality.warnings import actions, selectors
from loanquality.warnings.models import Case, Measure, State


@pytest.fixture(autouse=True)
def no_sync(monkeypatch):
    """The list reads sync the newest close's signals into cases; here only the cases each
    test makes are there (the sync itself is tested with the actions)."""
    monkeypatch.setattr(selectors, "ensure_synced", lambda *args, **kwargs: None)


def make_case(loan: dict, code: str = "OVD_FIRST", *, severity: int = 2, **fields) -> Case:
    """A case on ``loan`` opened today, due in 15 days unless ``fields`` say otherwise."""
    today = timezone.localdate()
    values = {
        "code": code,
        "subject": loan["loan_id"],
        "loan_id": loan["loan_id"],
        "customer_id": loan["customer_id"],
        "customer_name": loan["customer_name"] or "",
        "org_id": loan["org_id"],
        "manager_id": loan["manager_id"] or "",
        "severity": severity,
        "value": 12.0,
        "threshold": 0.0,
        "evidence": f"贷款{loan['loan_id']}本期首次逾期12天",
        "first_as_of": today,
        "last_as_of": today,
        "state": State.NEW,
        "opened_on": today,
        "due_on": today + dt.timedelta(days=15),
    }
    return Case.objects.create(**(values | fields))


def _sheet(response) -> list[tuple]:
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


def _ids(response) -> list[int]:
    return [c.pk for c in response.context["cases"]]


@pytest.fixture
def three_cases(data_dir, places, coop_orgs):
    """In the co-op: a 高 LTV_HIGH case overdue by a day, a 低 MAT3M case; in the other
    co-op an OVD_FIRST case the co-op's users must never see."""
    today = timezone.localdate()
    inside = loan_in(data_dir, [places.outlet])
    second = loan_in(data_dir, coop_orgs)
    outside = loan_in(data_dir, coop_orgs, inside=False)
    return {
        "ltv": make_case(
            inside,
            "LTV_HIGH",
            severity=3,
            state=State.ASSIGNED,
            opened_on=today - dt.timedelta(days=8),
            due_on=today - dt.timedelta(days=1),
            evidence="抵押率0.85，超过0.70的上限",
        ),
        "mat": make_case(second, "MAT3M", severity=1, evidence="贷款将于三个月内到期"),
        "other": make_case(outside),
    }


def test_the_list_shows_the_subtree_with_chinese_names_and_filters(risk, three_cases, places):
    """The co-op's 风险经理 sees the co-op's two cases (not the other co-op's), each code by
    its Chinese name; code, severity, state and overdue each narrow the list; an org
    outside the subtree is 404 and a severity that does not exist 400 in Chinese."""
    client = logged_in(risk)
    ltv, mat = three_cases["ltv"].pk, three_cases["mat"].pk
    # given the co-op's three-case world: 2 inside, 1 outside
    everything = client.get("/warnings/")
    assert everything.status_code == 200
    assert sorted(_ids(everything)) == sorted([ltv, mat])
    page = everything.content.decode()
    assert "抵质押率超限" in page
    assert "到期监测（监测通知书）" in page
    # each filter, by hand: LTV_HIGH is 高 (3), assigned, overdue; MAT3M 低 (1), new
    assert _ids(client.get("/warnings/", {"code": "MAT3M"})) == [mat]
    assert _ids(client.get("/warnings/", {"severity": 3})) == [ltv]
    assert _ids(client.get("/warnings/", {"state": "assigned"})) == [ltv]
    assert _ids(client.get("/warnings/", {"state": "new"})) == [mat]
    assert _ids(client.get("/warnings/", {"overdue": 1})) == [ltv]
    assert _ids(client.get("/warnings/", {"org": places.outlet})) == [ltv]
    # outside the subtree: as if there were no such org; a bad severity: said in Chinese
    assert client.get("/warnings/", {"org": places.other_coop}).status_code == 404
    bad = client.get("/warnings/", {"severity": 9, "code": "NOPE"})
    assert bad.status_code == 400
    assert "严重程度应为" in bad.content.decode()
    assert "未知的预警信号：NOPE" in bad.content.decode()


def test_the_list_exports_every_case_to_excel_with_chinese_headers(risk, three_cases):
    """``?format=xlsx`` writes the filtered list, every page of it, with Chinese headers and
    the Chinese names of code, severity and state."""
    # when the co-op's 风险经理 exports the 高 cases
    rows = _sheet(logged_in(risk).get("/warnings/", {"severity": 3, "format": "xlsx"}))
    title, header, body = rows[0], rows[1], rows[2:]
    # then one case (the LTV_HIGH one), with its names in Chinese
    assert "共 1 件" in title[0]
    assert header[:6] == ("预警编号", "预警信号代码", "预警信号", "严重程度", "借据号", "客户号")
    assert "预警依据" in header
    assert "处理期限" in header
    assert "是否逾期" in header
    (line,) = body
    case = three_cases["ltv"]
    assert line[:5] == (case.pk, "LTV_HIGH", "抵质押率超限", "高", case.loan_id)
    assert line[header.index("状态")] == "已分派"
    assert line[header.index("是否逾期")] == "是"
    assert line[header.index("预警依据")] == "抵押率0.85，超过0.70的上限"


def _forms(response) -> set[str]:
    page = response.content.decode()
    return {
        f
        for f in ("assign", "start", "measure", "resolve", "transfer", "close")
        if f'id="form-{f}"' in page
    }


def test_the_case_page_shows_only_the_forms_the_role_may_use(
    data_dir, places, risk, make_user, coop_orgs
):
    """The officer a case is assigned to may start it; once in progress, record a measure,
    resolve or transfer; the co-op's 风险经理 may reassign; an auditor reads without any
    form; a user of the other co-op gets 404. Each as ``actions.available`` says."""
    officer = make_user("officer", "officer", places.outlet)
    auditor = make_user("auditor", "auditor", places.coop)
    stranger = make_user("stranger", "risk", places.other_coop)
    case = make_case(loan_in(data_dir, [places.outlet]), state=State.ASSIGNED, assignee=officer)
    url = f"/warnings/{case.pk}/"
    # given the case assigned to the officer
    for user in (officer, risk, auditor):
        page = logged_in(user).get(url)
        assert page.status_code == 200
        assert _forms(page) == actions.available(user, case)
    assert "start" in _forms(logged_in(officer).get(url))
    assert "close" not in _forms(logged_in(officer).get(url))
    assert "assign" in _forms(logged_in(risk).get(url))
    assert _forms(logged_in(auditor).get(url)) == set()
    assert logged_in(stranger).get(url).status_code == 404
    # when the officer starts it, the measure and resolve forms come
    started = logged_in(officer).post(url, {"form": "start"}, follow=True)
    assert started.status_code == 200
    assert Case.objects.get(pk=case.pk).state == State.IN_PROGRESS
    assert {"measure", "resolve"} <= _forms(started)
    assert "start" not in _forms(started)
    # and a form the role is not offered is refused with 403, nothing changed
    refused = logged_in(auditor).post(url, {"form": "start"})
    assert refused.status_code == 403
    assert Case.objects.get(pk=case.pk).state == State.IN_PROGRESS


def test_a_refused_resolve_keeps_what_was_typed_and_says_why(data_dir, places, make_user):
    """Resolving with a measure but no result is refused (400) in Chinese; the page keeps
    the measure typed, and the case stays 处理中 without a measure recorded."""
    officer = make_user("officer", "officer", places.outlet)
    case = make_case(loan_in(data_dir, [places.outlet]), state=State.IN_PROGRESS, assignee=officer)
    client = logged_in(officer)
    typed = "上门催收，借款人承诺月底前归还欠息"
    # when the officer resolves with a measure and no result
    page = client.post(f"/warnings/{case.pk}/", {"form": "resolve", "measure": typed})
    # then 400, the Chinese reason, the measure kept in its box; nothing changed
    assert page.status_code == 400
    text = page.content.decode()
    assert 'id="case-error"' in text
    assert typed in text.split('id="resolve-measure"')[1].split("</textarea>")[0]
    assert Case.objects.get(pk=case.pk).state == State.IN_PROGRESS
    assert not Measure.objects.filter(case=case).exists()
    # when the officer gives the result too, it is resolved with the measure recorded
    done = client.post(
        f"/warnings/{case.pk}/",
        {"form": "resolve", "measure": typed, "result": "欠息已于11月28日结清"},
        follow=True,
    )
    assert done.status_code == 200
    case.refresh_from_db()
    assert case.state == State.RESOLVED
    assert Measure.objects.filter(case=case, result="欠息已于11月28日结清").exists()


def test_a_stale_form_answers_409_with_the_reason_and_keeps_what_was_typed(
    data_dir, places, risk, make_user
):
    """A form sent from a page the case has moved on from (here: the officer's measure on
    a case the 风险经理 meanwhile closed after its resolution) answers 409 with the
    action's Chinese reason, shows the form again with the text typed, changes nothing."""
    officer = make_user("officer", "officer", places.outlet)
    case = make_case(loan_in(data_dir, [places.outlet]), state=State.IN_PROGRESS, assignee=officer)
    actions.resolve(officer, case, "上门核实", "借款人已还清欠息")
    actions.close(risk, case, "复核无误")
    typed = "电话联系借款人，了解经营情况"
    # when the officer sends the measure form they had open
    page = logged_in(officer).post(f"/warnings/{case.pk}/", {"form": "measure", "measure": typed})
    # then 409, the reason, the text kept in its box; still one measure, still closed
    assert page.status_code == 409
    text = page.content.decode()
    with pytest.raises(actions.CaseConflict) as refused:  # the action's own reason
        actions.record_measure(officer, case, typed)
    assert "已关闭" in refused.value.message
    assert refused.value.message in text
    assert typed in text.split('id="measure-measure"')[1].split("</textarea>")[0]
    assert Case.objects.get(pk=case.pk).state == State.CLOSED
    assert Measure.objects.filter(case=case).count() == 1


def test_the_inbox_lists_the_tasks_and_the_navigation_counts_them(data_dir, places, make_user):
    """我的待办 of an officer with two active cases assigned (one overdue) and one resolved:
    待处理预警 2, of them 1 overdue; its link lists exactly those two; the navigation shows
    the sum of the tasks on every page."""
    from loanquality.common.inbox import task_count, tasks_for

    officer = make_user("officer", "officer", places.outlet)
    loan = loan_in(data_dir, [places.outlet])
    today = timezone.localdate()
    late = make_case(
        loan, state=State.ASSIGNED, assignee=officer, due_on=today - dt.timedelta(days=2)
    )
    working = make_case(loan, "INT_ARREARS", state=State.IN_PROGRESS, assignee=officer)
    make_case(loan, "MAT1M", state=State.RESOLVED, assignee=officer)
    client = logged_in(officer)
    # when the officer opens the inbox
    page = client.get("/inbox/")
    assert page.status_code == 200
    text = page.content.decode()
    # then the task of the warnings: 2 cases (the resolved one is not waiting), 1 overdue
    (mine,) = [t for t in tasks_for(officer) if t.key == "warnings.mine"]
    assert (mine.count, mine.overdue) == (2, 1)
    assert mine.label in text
    assert f'href="{mine.url}"' in text.replace("&amp;", "&")
    # and its link lists the two
    assert sorted(_ids(client.get(mine.url))) == sorted([late.pk, working.pk])
    # the navigation's count, on another page too
    count = task_count(officer)
    assert count >= 2
    assert f'id="inbox-count">{count}<' in client.get("/warnings/").content.decode()


def test_the_dashboard_counts_open_and_overdue_cases_by_org_and_severity(risk, three_cases, places):
    """The co-op's 驾驶舱: its own subtree first (高 1 open, 1 overdue; 低 1 open, none
    overdue; the other co-op's case not counted), then each unit below it, summed over its
    subtree; each number links to the list of those cases."""
    client = logged_in(risk)
    board = client.get("/").context["warnings"]
    total, *units = board
    # by hand: LTV_HIGH (高, overdue) in the outlet, MAT3M (低) somewhere in the co-op
    assert total["org_id"] == places.coop
    assert [(c["open"], c["overdue"]) for c in total["cells"]] == [(1, 1), (0, 0), (1, 0)]
    assert (total["open"], total["overdue"]) == (2, 1)
    # the outlet's unit (the co-op's child whose subtree holds it) has the LTV_HIGH case
    from loanquality.common.scope import org_tree

    tree = org_tree()
    (holder,) = [u for u in units if places.outlet in tree.subtree(u["org_id"])]
    assert holder["cells"][0]["open"] == 1
    assert holder["cells"][0]["overdue"] == 1
    assert sum(u["open"] for u in units) == 2
    # and the overdue 高 number drills to the list holding just that case
    url = total["cells"][0]["overdue_url"]
    assert f'href="{url}"' in client.get("/").content.decode().replace("&amp;", "&")
    assert _ids(client.get(url)) == [three_cases["ltv"].pk]


def test_the_loan_page_links_its_open_cases(risk, three_cases):
    """The loan's page names its cases not yet closed and links each; a closed one goes."""
    case = three_cases["ltv"]
    page = logged_in(risk).get(f"/loans/{case.loan_id}/").content.decode()
    assert 'id="loan-warnings"' in page
    assert f'href="/warnings/{case.pk}/"' in page
    Case.objects.filter(pk=case.pk).update(state=State.CLOSED)
    assert (
        'id="loan-warnings"' not in logged_in(risk).get(f"/loans/{case.loan_id}/").content.decode()
    )


def test_maturity_cases_link_their_notices(risk, three_cases, places):
    """A MAT3M case links its loan's 监测通知书; the list of MAT3M cases links the whole
    org's notices as one PDF; other codes link none."""
    client = logged_in(risk)
    mat, ltv = three_cases["mat"], three_cases["ltv"]
    case_page = client.get(f"/warnings/{mat.pk}/").content.decode()
    assert f'href="/notices/{mat.loan_id}/?kind=MAT3M"' in case_page
    assert "打印信贷业务监测通知书" in case_page
    assert 'id="print-notice"' not in client.get(f"/warnings/{ltv.pk}/").content.decode()
    listed = client.get("/warnings/", {"code": "MAT3M"}).content.decode().replace("&amp;", "&")
    assert f'href="/notices/print.pdf?kind=MAT3M&org={places.coop}"' in listed
    assert 'id="org-notices"' not in client.get("/warnings/", {"code": "LTV_HIGH"}).content.decode()


def test_checker_me_lists_the_cases_the_user_may_close(data_dir, places, risk, make_user):
    """``?checker=me`` (the 待关闭 task's link): of the co-op's cases, those resolved or
    transferred by someone else, which the 风险经理 may close (maker–checker); not the one
    they resolved themselves, nor an active one; an officer, who never closes, gets none;
    any other value is 400 in Chinese."""
    officer = make_user("officer", "officer", places.outlet)
    loan = loan_in(data_dir, [places.outlet])
    now = timezone.now()
    by_officer = make_case(loan, state=State.RESOLVED, resolved_by=officer, resolved_at=now)
    moved = make_case(
        loan, "LTV_HIGH", state=State.TRANSFERRED, resolved_by=officer, resolved_at=now
    )
    make_case(loan, "INT_ARREARS", state=State.RESOLVED, resolved_by=risk, resolved_at=now)
    make_case(loan, "MAT3M", state=State.IN_PROGRESS, assignee=officer)
    # by hand: of the four, the two done by the officer are the 风险经理's to close
    listed = logged_in(risk).get("/warnings/", {"checker": "me"})
    assert listed.status_code == 200
    assert sorted(_ids(listed)) == sorted([by_officer.pk, moved.pk])
    assert "待我复核关闭" in listed.content.decode()
    for pk in _ids(listed):
        assert "close" in actions.available(risk, Case.objects.get(pk=pk))
    assert _ids(logged_in(officer).get("/warnings/", {"checker": "me"})) == []
    bad = logged_in(risk).get("/warnings/", {"checker": "someone"})
    assert bad.status_code == 400
    assert "复核人只能筛选为" in bad.content.decode()
