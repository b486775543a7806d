"""Shared test set-up: every test writes runs into its own temporary runs root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HANNA_RUNS points into tmp_path so no test touches the repository's runs/ folder."""
    root = tmp_path / "runs"
    monkeypatch.setenv("HANNA_RUNS", str(root))
    monkeypatch.chdir(REPO_ROOT)
    return root


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "2")
