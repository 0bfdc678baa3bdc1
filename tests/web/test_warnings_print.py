"""Printing the early warnings (issue 17, item 4): a case's 《风险预警信号处理表》 as PDF
holds the loan id, its Chinese evidence, the measures and the sign-off lines; the 监测通知书
of an org is one PDF with one page per MAT3M loan, at most ``MAX_NOTICES`` letters; reading
or printing a notice records nothing, its 登记已发送 form (a POST, for the roles that may
send) records who sent which notice when (NoticeSent and the audit row); an auditor reads
and prints without the form; a loan outside the user's subtree is 404.

A small generated bank, closed once; the signals are the test's own (``signal_lake``)."""

from __future__ import annotations

import subprocess

import pytest
from django.test import Client
from signal_lake import latest, publish_signals, signal

from loanquality.audit.models import AuditEntry
from loanquality.engine.close import run_close
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.synth.generator import generate_bank

EVIDENCE = "贷款本期首次逾期，逾期天数12天（上期为0天）"


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("print-bank")
    generated = generate_bank(root / "files", loans=400, months=1, seed=17)
    for as_of in generated.as_ofs:
        import_as_of(root / "data", as_of, generated.files(as_of), user="tests")
        run_close(root / "data", as_of, user="tests")
    return root / "data"


@pytest.fixture(autouse=True)
def data_dir(bank, settings, db):
    settings.DATA_DIR = bank
    return bank


@pytest.fixture
def tree(data_dir):
    from loanquality.common.scope import org_tree

    return org_tree()


@pytest.fixture
def coop(tree) -> str:
    return tree.children(tree.root)[0]


@pytest.fixture
def other_coop(tree) -> str:
    return tree.children(tree.root)[1]


def user(username: str, role: str, org_id: str):
    from loanquality.accounts.actions import create_user

    return create_user(username, password="a-long-test-password", role=role, org_id=org_id)


def client_of(someone) -> Client:
    client = Client()
    client.force_login(someone)
    return client


def pdftotext(pdf: bytes, *args: str) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", *args, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def pages(pdf: bytes) -> int:
    done = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    return int(done.stdout.decode().split("Pages:")[1].split()[0])


def live_loans(data_dir, orgs) -> list[dict]:
    rows = Lake(data_dir).read("classified", latest(data_dir)).to_pylist()
    return sorted(
        (r for r in rows if r["org_id"] in orgs and r["balance"] > 0 and not r["written_off"]),
        key=lambda r: r["loan_id"],
    )


def maturing(data_dir, orgs: list[str], *, within_days: tuple[int, int], count: int):
    """Up to ``count`` live, not overdue loans of ``orgs`` whose (extended) maturity is
    ``within_days`` (exclusive, inclusive] after the latest close, by loan id."""
    as_of = latest(data_dir)
    low, high = within_days
    found = []
    for row in live_loans(data_dir, orgs):
        maturity = row.get("extended_maturity_date") or row["maturity_date"]
        if (
            not row["overdue_days"]
            and maturity is not None
            and low < (maturity - as_of).days <= high
        ):
            found.append(row)
    return found[:count]


def publish(data_dir, rows: list[dict]):
    """``rows`` as the signals of the latest close; its as-of."""
    as_of = latest(data_dir)
    publish_signals(data_dir, as_of, rows)
    return as_of


def test_the_case_form_pdf_holds_the_loan_its_evidence_and_the_sign_off(data_dir, tree, coop):
    """A case synced from an OVD_FIRST signal, a measure recorded: its 处理表 PDF reads back
    the title, the loan id, the Chinese evidence, the measure and its result, the loan's
    balance, and the 经办 / 审核 / 主管行长 lines; the print view is the same template."""
    from loanquality.warnings import actions
    from loanquality.warnings.models import Case

    # given an OVD_FIRST signal on a loan of the co-op, synced into a case
    loan = live_loans(data_dir, tree.subtree(coop))[0]
    as_of = publish(data_dir, [signal("OVD_FIRST", loan, 2, 12, 0, evidence=EVIDENCE)])
    risk = user("risk", "risk", coop)
    actions.sync_close(as_of, actor=risk)
    case = Case.objects.get(code="OVD_FIRST", subject=loan["loan_id"])
    actions.assign(risk, case, risk)
    actions.start(risk, case)
    actions.record_measure(risk, case, "电话催收并上门核实经营情况", "借款人承诺月底前还款")
    # when the 处理表 is downloaded
    answer = client_of(risk).get(f"/warnings/{case.pk}/print.pdf")
    # then a PDF named for the form, whose text holds the loan and the evidence in Chinese
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert "attachment" in answer["Content-Disposition"]
    text = pdftotext(answer.content)
    flat = "".join(text.split())
    assert "风险预警信号处理表" in flat
    assert loan["loan_id"] in flat
    assert "".join(EVIDENCE.split()) in flat
    assert "电话催收并上门核实经营情况" in flat
    assert "借款人承诺月底前还款" in flat
    assert f"{loan['balance']:,.2f}" in flat
    for line in ("经办人：", "审核人：", "主管行长："):
        assert line in flat
    # and the print view is the same template, for the browser
    view = client_of(risk).get(f"/warnings/{case.pk}/print/")
    assert view.status_code == 200
    assert "风险预警信号处理表" in view.content.decode()
    assert EVIDENCE in view.content.decode()


def test_a_case_form_outside_the_subtree_is_404(data_dir, tree, coop, other_coop):
    """Another co-op's 风险经理 cannot print the case (404 as for no case), nor its PDF."""
    from loanquality.warnings import actions
    from loanquality.warnings.models import Case

    loan = live_loans(data_dir, tree.subtree(coop))[0]
    as_of = publish(data_dir, [signal("OVD_FIRST", loan, 2, 12, 0, evidence=EVIDENCE)])
    actions.sync_close(as_of, actor=user("risk", "risk", coop))
    case = Case.objects.get(code="OVD_FIRST", subject=loan["loan_id"])
    stranger = client_of(user("stranger", "risk", other_coop))
    assert stranger.get(f"/warnings/{case.pk}/print.pdf").status_code == 404
    assert stranger.get(f"/warnings/{case.pk}/print/").status_code == 404


def three_mat3m(data_dir, tree, coop) -> list[dict]:
    """Three loans of the co-op 32..92 days from maturity, with a MAT3M signal each."""
    three = maturing(data_dir, tree.subtree(coop), within_days=(31, 92), count=3)
    assert len(three) == 3
    rows = [
        signal("MAT3M", r, 1, 0, 92, evidence=f"贷款将于{r['maturity_date']}到期") for r in three
    ]
    publish(data_dir, rows)
    return three


def test_an_orgs_notices_are_one_pdf_with_a_page_per_loan(data_dir, tree, coop):
    """Three loans of the co-op maturing in the MAT3M window (more than one month, at most
    three months away) carry MAT3M: the co-op's 监测通知书 is one PDF of 3 pages, page n
    naming loan n (by maturity), its amount, balance, maturity date and days left, and
    asking the customer to prepare repayment. Downloading it records nothing."""
    from loanquality.warnings.models import NoticeSent

    as_of = latest(data_dir)
    three = three_mat3m(data_dir, tree, coop)
    officer = user("officer", "credit_dept", coop)
    # when the co-op's notices are printed as one PDF
    answer = client_of(officer).get("/notices/print.pdf", {"org": coop, "kind": "MAT3M"})
    # then one page per loan, in the order of their maturity (then loan id)
    assert answer.status_code == 200
    pdf = answer.content
    assert pages(pdf) == 3
    ordered = sorted(
        three,
        key=lambda r: (
            r["org_id"],
            r.get("extended_maturity_date") or r["maturity_date"],
            r["loan_id"],
        ),
    )
    for number, loan in enumerate(ordered, start=1):
        page = "".join(pdftotext(pdf, "-f", str(number), "-l", str(number)).split())
        maturity = loan.get("extended_maturity_date") or loan["maturity_date"]
        days = (maturity - as_of).days  # by hand: the maturity date less the report date
        assert "信贷业务监测通知书" in page
        assert loan["loan_id"] in page
        assert f"{loan['balance']:,.2f}" in page
        assert f"{maturity.year}年{maturity.month}月{maturity.day}日" in page
        assert f"{days}天" in page
        assert "还款资金" in page
        assert tree.name(loan["org_id"]) in page
    # and a download is no sending: nothing recorded
    assert not NoticeSent.objects.exists()
    assert not AuditEntry.objects.filter(action="warning.notice").exists()


def test_viewing_records_nothing_and_the_send_form_records_each_loan(data_dir, tree, coop):
    """The co-op's print view of its 3 MAT3M notices, read twice and as PDF, records
    nothing; its 登记已发送 form (POST, with the CSRF token) records one NoticeSent per loan
    (who, for that close) and one ``warning.notice`` audit row, and says what it recorded;
    one loan's form records that loan alone."""
    from loanquality.warnings.models import NoticeSent

    as_of = latest(data_dir)
    three = three_mat3m(data_dir, tree, coop)
    sender = user("sender", "credit_dept", coop)
    client = client_of(sender)
    url = f"/notices/?kind=MAT3M&org={coop}"
    # when the print view is read (a preview, a reload) and the PDF downloaded
    for _ in range(2):
        view = client.get(url)
        assert view.status_code == 200
    assert client.get("/notices/print.pdf", {"org": coop, "kind": "MAT3M"}).status_code == 200
    # then nothing is recorded, and the page offers the form
    assert not NoticeSent.objects.exists()
    page = view.content.decode()
    assert 'id="notice-send"' in page
    assert "csrfmiddlewaretoken" in page
    assert "登记已发送（3 份）" in page
    # when the form is sent (with the CSRF check on, as in a browser)
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(sender)
    assert checked.post(url, {"as_of": as_of.isoformat()}).status_code == 403  # no token
    assert not NoticeSent.objects.exists()
    token = checked.get(url).context["csrf_token"]
    done = checked.post(
        url, {"as_of": as_of.isoformat(), "csrfmiddlewaretoken": str(token)}, follow=True
    )
    # then one NoticeSent per loan, one audit row, and the page says so
    assert done.status_code == 200
    sent = NoticeSent.objects.filter(kind="MAT3M", as_of=as_of)
    assert sorted(sent.values_list("loan_id", flat=True)) == sorted(r["loan_id"] for r in three)
    assert {n.sent_by_id for n in sent} == {sender.pk}
    assert AuditEntry.objects.filter(action="warning.notice", user=sender).count() == 1
    assert "已登记发送信贷业务监测通知书 3 份" in done.content.decode()
    # one loan's own form records that loan once more, alone
    one = three[0]["loan_id"]
    client.post(f"/notices/{one}/?kind=MAT3M", {"as_of": as_of.isoformat()})
    assert NoticeSent.objects.filter(loan_id=one).count() == 2
    assert NoticeSent.objects.count() == 4
    # a form read before another close (its report date no longer the latest) records nothing
    stale = client.post(url, {"as_of": "2000-01-31"}, follow=True)
    assert "未登记" in stale.content.decode()
    assert NoticeSent.objects.count() == 4


def test_an_auditor_reads_and_prints_notices_without_the_send_form(data_dir, tree, coop):
    """An auditor may view and print (200, PDF too) but is never shown 登记已发送; sending
    anyway is 403 and records nothing. The case page's notice link opens for them (200)."""
    from loanquality.warnings import actions
    from loanquality.warnings.models import Case, NoticeSent

    as_of = latest(data_dir)
    three = three_mat3m(data_dir, tree, coop)
    actions.sync_close(as_of, actor=user("risk", "risk", coop))
    auditor = client_of(user("auditor", "auditor", coop))
    # the case page's link to the loan's notice, followed by the auditor
    case = Case.objects.get(code="MAT3M", subject=three[0]["loan_id"])
    page = auditor.get(f"/warnings/{case.pk}/").content.decode()
    link = page.split('id="print-notice" href="')[1].split('"')[0].replace("&amp;", "&")
    assert link == f"/notices/{case.loan_id}/?kind=MAT3M"
    view = auditor.get(link)
    assert view.status_code == 200
    assert case.loan_id in view.content.decode()
    assert 'id="notice-send"' not in view.content.decode()
    # the org's print view and PDF likewise
    listed = auditor.get("/notices/", {"org": coop, "kind": "MAT3M"})
    assert listed.status_code == 200
    assert 'id="notice-send"' not in listed.content.decode()
    assert auditor.get(f"/notices/{case.loan_id}/print.pdf", {"kind": "MAT3M"}).status_code == 200
    # sending anyway: refused, nothing recorded
    refused = auditor.post(link, {"as_of": as_of.isoformat()})
    assert refused.status_code == 403
    assert not NoticeSent.objects.exists()


def test_an_org_with_more_notices_than_the_cap_is_asked_to_narrow(
    data_dir, tree, coop, monkeypatch
):
    """With the cap at 2 letters, the co-op's 3 MAT3M notices are refused (400) in Chinese,
    saying how many there are and asking for a lower org (支行/网点), linking each; the
    PDF likewise, and the send form records nothing."""
    from loanquality.warnings.models import NoticeSent
    from loanquality.warnings.views import notices

    assert notices.MAX_NOTICES == 2_000
    monkeypatch.setattr(notices, "MAX_NOTICES", 2)
    as_of = latest(data_dir)
    three_mat3m(data_dir, tree, coop)
    client = client_of(user("sender", "credit_dept", coop))
    query = {"org": coop, "kind": "MAT3M"}
    for answer in (client.get("/notices/", query), client.get("/notices/print.pdf", query)):
        assert answer.status_code == 400
        text = answer.content.decode()
        assert "共 <strong>3</strong> 笔" in text
        assert "一次最多打印 2 份" in text
        assert "请选择下级机构（支行/网点）" in text
        for child in tree.children(coop):
            assert f"org={child}" in text
    sent = client.post(f"/notices/?kind=MAT3M&org={coop}", {"as_of": as_of.isoformat()})
    assert sent.status_code == 400
    assert not NoticeSent.objects.exists()


def test_one_loans_reminder_letter_and_the_loans_it_refuses(data_dir, tree, coop, other_coop):
    """A MAT1M loan's 提示函 prints for the co-op's user (one page); the same loan
    is 404 for another co-op's user, and so is a loan without the signal; a kind that does
    not exist is 400 in Chinese. Nothing is recorded."""
    from loanquality.warnings.models import NoticeSent

    (loan,) = maturing(data_dir, tree.subtree(coop), within_days=(0, 31), count=1)
    (plain,) = [
        r for r in live_loans(data_dir, tree.subtree(coop)) if r["loan_id"] != loan["loan_id"]
    ][:1]
    publish(data_dir, [signal("MAT1M", loan, 2, 0, 31, evidence="贷款一个月内到期")])
    mine = client_of(user("risk", "risk", coop))
    answer = mine.get(f"/notices/{loan['loan_id']}/print.pdf", {"kind": "MAT1M"})
    assert answer.status_code == 200
    assert pages(answer.content) == 1
    text = "".join(pdftotext(answer.content).split())
    assert "贷款到期提示函" in text
    assert loan["loan_id"] in text
    # refused: another co-op, a loan without MAT1M, an unknown kind
    stranger = client_of(user("stranger", "risk", other_coop))
    assert stranger.get(f"/notices/{loan['loan_id']}/", {"kind": "MAT1M"}).status_code == 404
    assert mine.get(f"/notices/{plain['loan_id']}/", {"kind": "MAT1M"}).status_code == 404
    bad = mine.get(f"/notices/{loan['loan_id']}/", {"kind": "MAT6M"})
    assert bad.status_code == 400
    assert "通知类型应为" in bad.content.decode()
    assert not NoticeSent.objects.exists()
