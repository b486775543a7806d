"""A hostile runs folder (every bad-file case of runsfolder.py, good runs beside them): `runs`,
`runs --json` and the dashboard list every run, the bad ones marked, the good ones intact."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hostile_support import run_in_process, run_subprocess, snapshot
from runsfolder import plant_runs_folder

from hanna_tui import fmt
from hanna_tui.store import list_runs


@pytest.fixture()
def hostile_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "runs"
    cases = plant_runs_folder(root)
    monkeypatch.setenv("HANNA_RUNS", str(root))
    return root, cases


def _check_rows(rows: list[dict], cases) -> None:
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == set(cases)  # every run listed once, the stray file and the folder without run.json not
    for name, case in cases.items():
        row = by_id[name]
        if case.expect == "unreadable":
            assert row["state"] == "unreadable" and row["error"].startswith(f"unreadable: {case.file}: "), (name, row)
        else:
            assert row["state"] != "unreadable", (name, row)
    assert by_id["good-a"]["state"] == "done" and by_id["good-a"]["epoch"] == 2 and by_id["good-a"]["search_acc"] == 0.5
    assert by_id["good-b"]["state"] == "failed" and by_id["good-b"]["error"] == "boom"
    assert by_id["nan-values"]["search_acc"] is None and by_id["nan-values"]["progress"] == 0.0
    assert "\x1b" not in by_id["state-escape"]["state"]


def test_runs_json_lists_every_run(hostile_root) -> None:
    root, cases = hostile_root
    before = snapshot(root)
    out = run_in_process(["runs", "--json"], {})
    assert out.code == 0, out.stderr
    _check_rows(json.loads(out.stdout), cases)  # strict JSON: NaN became null
    assert snapshot(root) == before


def test_runs_table_marks_bad_runs_in_a_subprocess(hostile_root) -> None:
    root, cases = hostile_root
    out = run_subprocess(["runs"], {"HANNA_RUNS": str(root)})
    assert out.code == 0 and "Traceback" not in out.stderr, out.stderr
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout  # a folder name cannot drive the terminal
    for name, case in cases.items():
        shown = fmt.printable(name)
        assert shown in out.stdout
        if case.expect == "unreadable":
            assert f"{shown}: unreadable: {case.file}" in out.stdout
    json_out = run_subprocess(["runs", "--json"], {"HANNA_RUNS": str(root)})
    assert json_out.code == 0
    _check_rows(json.loads(json_out.stdout), cases)


def test_store_listing_matches(hostile_root) -> None:
    root, cases = hostile_root
    _check_rows([s.to_dict() for s in list_runs(root)], cases)


def test_dashboard_shows_the_hostile_folder(hostile_root) -> None:
    pytest.importorskip("textual")
    import asyncio

    from textual.widgets import DataTable

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from test_tui_support import PROFILES, FakeSpawn

    from hanna_tui.tui.app import HannaApp

    root, cases = hostile_root

    async def scenario() -> None:
        app = HannaApp(runs_root=root, profiles=PROFILES, spawn=FakeSpawn(), poll_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            app.switch_mode("runs")
            for _ in range(50):
                await pilot.pause(0.1)
                tables = list(app.screen.query(DataTable))
                if tables and len(tables[0].rows) >= len(cases):
                    break
            table = app.screen.query_one("#runs-table", DataTable)
            shown = {str(k.value) for k in table.rows}
            assert shown == set(cases)
            for name, case in cases.items():
                text = " ".join(str(c) for c in table.get_row(name))
                assert ("unreadable" in text) == (case.expect == "unreadable"), (name, text)
            table.focus()
            for _ in range(len(cases)):  # every row can be selected; no screen breaks on one
                await pilot.press("down")
                await pilot.pause(0.05)
            await pilot.pause(0.3)
            for cells in (table.get_row(name) for name in cases):  # no cell can drive the terminal or hide its text as markup
                assert not any("\x1b" in getattr(c, "plain", str(c)) for c in cells)
            assert any("id-markup-[bold]-[red" in getattr(c, "plain", str(c)) for c in table.get_row("id-markup-[bold]-[red"))
            app.switch_mode("history")
            await pilot.pause(0.5)
            history = app.screen.query_one(DataTable)
            history.focus()
            for _ in range(len(cases)):
                await pilot.press("down")
                await pilot.pause(0.05)
            await pilot.pause(0.3)
            await pilot.press("q")

    asyncio.run(scenario())
