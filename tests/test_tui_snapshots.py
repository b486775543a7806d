"""Snapshot tests (pytest-textual-snapshot) of every screen, on fixed fixture runs.

Update after an intended change with: .venv/bin/pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_textual_snapshot")

from fixtures import make_fixture_set  # noqa: E402

from hanna_tui.tui.app import LIGHT, HannaApp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_tui_support import PROFILES, FakeSpawn  # noqa: E402

BIG = (100, 30)
SMALL = (80, 24)


@pytest.fixture()
def fixture_runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    make_fixture_set(root)
    monkeypatch.setenv("HANNA_RUNS", str(root))
    monkeypatch.setenv("HANNA_PRESETS", str(tmp_path / "presets"))
    return root


def app_for(root: Path, theme: str | None = None) -> HannaApp:
    kwargs = {"theme": theme} if theme else {}
    return HannaApp(runs_root=root, profiles=PROFILES, spawn=FakeSpawn(), poll_s=3600, **kwargs)


async def steady(pilot) -> None:
    """No blinking cursor in a snapshot: it would be on or off depending on timing."""
    from textual.widgets import Input

    for screen in pilot.app.screen_stack:
        for widget in screen.query(Input):
            widget.cursor_blink = False
    await pilot.pause()


def test_snapshot_knobs(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady)


def test_snapshot_knobs_small_light(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs, LIGHT), terminal_size=SMALL, run_before=steady)


def test_snapshot_knobs_invalid(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["a", "end", "ctrl+u", "x"])


def test_snapshot_runs(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["f2", "down"])


def test_snapshot_runs_small(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=SMALL, run_before=steady, press=["f2"])


def test_snapshot_runs_empty(snap_compare, tmp_path) -> None:
    assert snap_compare(app_for(tmp_path / "none"), terminal_size=BIG, run_before=steady, press=["f2"])


def test_snapshot_history(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["f3"])


def test_snapshot_history_small(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=SMALL, run_before=steady, press=["3"])


def test_snapshot_history_pareto(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["f3", "p"])


def test_snapshot_history_compare(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["f3", "down", "x", "down", "x", "v"])


def test_snapshot_profiles(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["f4"])


def test_snapshot_profiles_small(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=SMALL, run_before=steady, press=["4"])


def test_snapshot_deploy(snap_compare, fixture_runs, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-ssh-config"))
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["5"])


def test_snapshot_help_on_runs(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["2", "question_mark"])


def test_snapshot_train_form(snap_compare, fixture_runs) -> None:
    assert snap_compare(app_for(fixture_runs), terminal_size=BIG, run_before=steady, press=["2", "down", "t"])
