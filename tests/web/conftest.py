"""A generated bank, imported and closed twice, and users placed at three levels of it."""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from django.test import Client

from loanquality.engine.close import run_close
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.synth.generator import generate_bank

PASSWORD = "a-long-test-password"


@pytest.fixture(scope="session")
def bank_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("web-bank")
    bank = generate_bank(root / "files", loans=1_500, months=2, seed=7)
    for as_of in bank.as_ofs:
        import_as_of(root / "data", as_of, bank.files(as_of), user="tests")
        run_close(root / "data", as_of, user="tests")
    return root / "data"


@pytest.fixture(autouse=True)
def data_dir(bank_dir, settings, db):
    """Every web test reads the shared bank unless it asks for a copy of its own."""
    settings.DATA_DIR = bank_dir
    return bank_dir


@pytest.fixture
def own_data_dir(bank_dir, settings, tmp_path):
    """A private copy of the bank for tests that import or close."""
    copy = tmp_path / "data"
    shutil.copytree(bank_dir, copy, symlinks=True)
    settings.DATA_DIR = copy
    return copy


@dataclass
class Places:
    """Where the test users sit: the head office, one co-op, one outlet of that co-op, and
    another co-op the outlet's users must never see."""

    root: str
    coop: str
    outlet: str
    other_coop: str


@pytest.fixture
def places(bank_dir) -> Places:
    from loanquality.common.scope import org_tree

    tree = org_tree()
    root = next(o for o in tree.parents if tree.is_root(o))
    coop, other = tree.children(root)[:2]
    return Places(root, coop, tree.children(coop)[0], other)


@pytest.fixture
def make_user(db):
    from loanquality.accounts.actions import create_user

    def make(username: str, role: str, org_id: str):
        return create_user(username, password=PASSWORD, role=role, org_id=org_id)

    return make


@pytest.fixture
def head_office(make_user, places):
    return make_user("credit", "credit_dept", places.root)


@pytest.fixture
def officer(make_user, places):
    return make_user("officer", "officer", places.outlet)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def loan_in(data_dir, orgs: list[str], *, inside: bool = True) -> dict:
    """A loan of the latest close whose org is (or is not) one of ``orgs``."""
    lake = Lake(data_dir)
    loans = lake.read("classified", lake.as_ofs("classified")[-1])
    mask = pc.is_in(loans.column("org_id"), value_set=pa.array(orgs))
    chosen = loans.filter(mask if inside else pc.invert(mask))
    return chosen.slice(0, 1).to_pylist()[0]


@pytest.fixture
def coop_orgs(places) -> list[str]:
    from loanquality.common.scope import org_tree

    return org_tree().subtree(places.coop)


@pytest.fixture
def risk(make_user, places):
    """A 风险经理 of the co-op: makes 认定."""
    return make_user("risk", "risk", places.coop)


@pytest.fixture
def director(make_user, places):
    """The co-op's director: approves 认定."""
    return make_user("director", "director", places.coop)


# --- tests on a committing database (threads that each commit) ---------------------------


@pytest.fixture(scope="module")
def append_only_restored(django_db_blocker):
    """After a test that commits audit rows: the guard back on (see ``flushable_audit_log``)."""
    from django.db import connection

    append_only = importlib.import_module("loanquality.audit.migrations.0002_append_only")
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_append_only")
        else:
            for statement in append_only.SQLITE:
                cursor.execute(statement)


@pytest.fixture
def flushable_audit_log(append_only_restored, transactional_db):
    """A test on a committing database is emptied afterwards, which the append-only guard
    refuses: it is switched off for that, and back on once the database is empty."""
    from django.db import connection

    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_append_only")
        else:
            cursor.execute("DROP TRIGGER audit_no_update")
            cursor.execute("DROP TRIGGER audit_no_delete")
