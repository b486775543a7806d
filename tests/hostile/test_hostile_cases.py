"""Hostile inputs from cases.toml: each exits 2 or 3 with one stderr line, no traceback, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_support import check as check_case
from hostile_support import load_cases

CASES = load_cases()


def test_at_least_200_cases_covering_every_command() -> None:
    assert len(CASES) >= 200
    firsts = {c.argv[0] for c in CASES}
    for command in ("--batch", "search", "runs", "sample", "profile", "deploy", "train", "baseline", "export", "knobs", "tui"):
        assert command in firsts, command
    assert all(c.exit in (2, 3) for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case, tmp_path: Path, isolated_runs_root: Path) -> None:
    problems = check_case(case, tmp_path, isolated_runs_root)
    assert not problems, "; ".join(problems)
