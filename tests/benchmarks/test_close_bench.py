"""The close benchmark's parity check fails loudly when two closes differ: here the same
date closed twice, the second time with a rule broken on purpose (OD90 firing from 80
days instead of 90)."""

from __future__ import annotations

import sys
from pathlib import Path

from loanquality.engine import rules as shipped
from loanquality.engine.close import run_close
from loanquality.engine.rules import load_ruleset

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from close_bench import differences, published
from fast_lake import fast_lake


def test_parity_names_the_first_difference_of_a_broken_rule(tmp_path):
    lake, (first, second) = fast_lake(tmp_path, 5_000, progress=lambda _: None)
    run_close(lake.data_dir, first)
    run_close(lake.data_dir, second)
    reference = published(lake, second)
    assert differences(reference, published(lake, second)) == []

    broken = tmp_path / "broken.toml"
    rules = (Path(shipped.__file__).parent / "cn-2023.toml").read_text(encoding="utf-8")
    broken.write_text(rules.replace('"OD90", days_over = 90', '"OD90", days_over = 80'))
    run_close(lake.data_dir, second, ruleset=load_ruleset(str(broken)))
    found = differences(reference, published(lake, second))
    # loans 81–90 days overdue are now 次级 by the broken OD90: classified and metrics differ
    assert any(f.startswith("classified.reasons row ") for f in found), found
    assert any(f.startswith("metrics.") for f in found), found
