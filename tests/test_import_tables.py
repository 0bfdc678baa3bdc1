"""The eleven import tables are named once (schema.IMPORT_TABLES); the command line and the
API each declare one file parameter per table, and nothing else reads a twelfth."""

from __future__ import annotations

import inspect

from loanquality.engine.schema import IMPORT_TABLES, TABLES
from loanquality.operations.cli import import_command


def test_the_cli_import_takes_one_option_per_import_table():
    options = set(inspect.signature(import_command).parameters)
    assert options - {"data_dir", "as_of", "mapping", "replace_smaller"} == set(IMPORT_TABLES)


def test_the_api_import_takes_one_file_per_import_table(client):
    schema = client.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/imports"]["post"]["requestBody"]["content"]
    fields = set(body["multipart/form-data"]["schema"]["properties"])
    assert fields - {"as_of", "replace_smaller"} == set(IMPORT_TABLES)


def test_every_import_table_has_a_spec_and_the_ledger_comes_first():
    assert IMPORT_TABLES[0] == "loans"
    assert len(IMPORT_TABLES) == len(set(IMPORT_TABLES)) == 11
    assert set(IMPORT_TABLES) <= set(TABLES)
