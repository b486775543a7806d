"""Pilot tests of every dashboard screen: behaviour, not pixels (snapshots live in test_tui_snapshots.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("textual")

from fixtures import fake_metrics, make_fixture_set, make_run  # noqa: E402
from textual.widgets import DataTable, Input, OptionList, Static  # noqa: E402

from hanna_tui import fmt  # noqa: E402
from hanna_tui.cost import CostModel, knob_readout  # noqa: E402
from hanna_tui.knobs import Knobs  # noqa: E402
from hanna_tui.pareto import COST, front  # noqa: E402
from hanna_tui.profiles import load_profile  # noqa: E402
from hanna_tui.tui.app import HannaApp  # noqa: E402
from hanna_tui.tui.presets import Preset  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_tui_support import PROFILES, FakeSpawn, plain, sync  # noqa: E402

SIZE = (100, 30)
DEFAULT_PROFILE = PROFILES / "rpi3b-hanna.toml"


@pytest.fixture()
def runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("HANNA_RUNS", str(root))
    monkeypatch.setenv("HANNA_PRESETS", str(tmp_path / "presets"))
    return root


def make_app(root: Path, spawn=None, profiles: Path = PROFILES) -> HannaApp:
    return HannaApp(runs_root=root, profiles=profiles, spawn=spawn or FakeSpawn(), poll_s=0.2)


async def set_input(pilot, widget_id: str, text: str) -> None:
    pilot.app.screen.query_one(f"#{widget_id}", Input).focus()
    await pilot.press("end", "ctrl+u", *list(text))
    await pilot.pause()


DEFAULT = Preset()  # the demo's knobs, which the dashboard opens on


def expected(alpha=DEFAULT.knobs.alpha, beta=DEFAULT.knobs.beta, gamma=DEFAULT.knobs.gamma, delta=DEFAULT.knobs.delta) -> dict:
    return knob_readout(CostModel(load_profile(DEFAULT_PROFILE)), Knobs(alpha, beta, gamma, delta))


# knobs
@sync
async def test_knobs_readouts_follow_typing(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert screen.readout == expected()
        await set_input(pilot, "alpha", "0.5")
        await set_input(pilot, "delta", "0.9")
        want = expected(alpha=0.5, delta=0.9)
        assert screen.readout == want
        text = plain(screen.query_one("#readout", Static).content)
        assert fmt.latency(want["lat0"]) in text and fmt.energy(want["ener0"]) in text
        for key in ("vlat", "vener"):
            assert fmt.num(want[key]) in text
        assert fmt.dominance(want["energy_dominance"]) in text
        assert f"{want['dominant'].upper()}-dominant" in text


@sync
async def test_knobs_step_keys(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "alpha", "0.2")
        await pilot.press("up", "up")
        assert app.screen.query_one("#alpha", Input).value == "0.22"
        await pilot.press("shift+up")
        assert app.screen.query_one("#alpha", Input).value == "0.32"
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")
        assert app.screen.query_one("#alpha", Input).value == "0"
        await pilot.pause()
        assert app.screen.readout == expected(alpha=0.0)


@sync
async def test_bad_input_is_marked_and_nothing_launches(runs) -> None:
    spawn = FakeSpawn()
    app = make_app(runs, spawn)
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "beta", "abc")
        beta = app.screen.query_one("#beta", Input)
        assert beta.has_class("-invalid")
        assert "beta" in plain(app.screen.query_one("#form-errors", Static).content)
        await set_input(pilot, "gamma", "-1")
        assert app.screen.query_one("#gamma", Input).has_class("-invalid")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert spawn.calls == []
        assert list(runs.iterdir()) == []
        assert app.current_mode == "knobs"
        await set_input(pilot, "beta", "0.7")
        assert not beta.has_class("-invalid")


@sync
async def test_launch_creates_run_dir_and_row(runs) -> None:
    spawn = FakeSpawn()
    app = make_app(runs, spawn)
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "alpha", "0.35")
        await set_input(pilot, "epochs", "2")
        await pilot.press("ctrl+s")
        await pilot.pause()
        dirs = list(runs.iterdir())
        assert len(dirs) == 1
        run_dir = dirs[0]
        meta = json.loads((run_dir / "run.json").read_text())
        assert meta["kind"] == "search" and meta["knobs"]["alpha"] == 0.35
        config = (run_dir / "config.toml").read_text()
        assert "epochs = 2" in config and "alpha = 0.35" in config
        cmd, log = spawn.calls[0]
        assert cmd[:4] == [sys.executable, "-m", "hanna_tui", "search"]
        assert cmd[cmd.index("--run-dir") + 1] == str(run_dir)
        assert log == run_dir / "search.log"
        assert app.current_mode == "runs"
        await pilot.pause()
        table = app.screen.query_one("#runs-table", DataTable)
        assert [str(k.value) for k in table.rows] == [run_dir.name]


@sync
async def test_presets_save_and_load(runs, tmp_path) -> None:
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await set_input(pilot, "alpha", "0.7")
        await pilot.press("f7")
        await pilot.pause()
        await pilot.press(*list("mine"), "enter")
        await pilot.pause()
        saved = tmp_path / "presets" / "mine.toml"
        assert saved.is_file() and "alpha = 0.7" in saved.read_text()
        await set_input(pilot, "alpha", "0.1")
        await pilot.press("f8")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one("#alpha", Input).value == "0.7"
        await pilot.pause()
        assert app.screen.readout == expected(alpha=0.7)


# runs monitor
@sync
async def test_runs_select_shows_curves_and_theta(runs) -> None:
    make_fixture_set(runs)
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#runs-table", DataTable)
        keys = [str(k.value) for k in table.rows]
        assert keys[0] == "20260105-120000-alpha-sweep-a"  # running first
        assert screen.detail.run.id == keys[0]
        table.move_cursor(row=keys.index("20260104-110000-energy-heavy"))
        await pilot.pause()
        assert screen.detail.run.id == "20260104-110000-energy-heavy"
        want = [r["loss"] for r in fake_metrics(8, 3, 2) if r["kind"] == "epoch"]
        assert screen.detail.follower.series("epoch", "loss")[1] == want
        view = screen.detail.theta
        assert view is not None and len(view.probs) == 22
        arch = json.loads((runs / "20260104-110000-energy-heavy" / "arch.json").read_text())
        assert view.names == arch["choices"]
        assert view.lat_s == pytest.approx(arch["predicted"]["latency_s"])
        heat = plain(screen.query_one("#theta", Static).content)
        assert heat.count("●") == 22 + 1  # one per layer, plus the legend
        await pilot.press("i")
        assert screen.kind == "interval"
        await pilot.press("m")
        assert screen.metric_index == 1


@sync
async def test_runs_follow_new_runs_and_metrics(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen.query_one("#runs-empty").display
        make_run(runs, "20260106-000000-late", state="running", epochs_done=1, total_epochs=4)
        await pilot.pause(0.5)
        table = app.screen.query_one("#runs-table", DataTable)
        assert [str(k.value) for k in table.rows] == ["20260106-000000-late"]
        assert not app.screen.query_one("#runs-empty").display
        before = len(app.screen.detail.follower.records)
        with open(runs / "20260106-000000-late" / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps({"kind": "epoch", "epoch": 1, "step": 99, "loss": 0.5}) + "\n")
        await pilot.pause(0.5)
        assert len(app.screen.detail.follower.records) == before + 1


@sync
async def test_runs_train_failure_is_a_notification(runs) -> None:
    import subprocess

    make_fixture_set(runs)

    def failing(cmd, log_path):
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-c", "import sys; print('no childnet'); sys.exit(3)"], stdout=log, stderr=subprocess.STDOUT
            )

    app = make_app(runs, failing)
    seen: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        original = app.notify

        def capture(message, **kwargs):
            seen.append(f"{kwargs.get('title', '')}: {message}")
            return original(message, **kwargs)

        app.notify = capture  # type: ignore[method-assign]
        app.screen.notify = capture  # type: ignore[method-assign]
        await pilot.press("t")  # the train form: enter in its first field starts the recipe as it is
        await pilot.pause()
        await pilot.press("enter")
        for _ in range(50):
            await pilot.pause(0.1)
            if any("Training failed" in s for s in seen):
                break
        assert any("Training failed" in s and "no childnet" in s for s in seen), seen
        assert app.is_running


@sync
async def test_runs_resume_only_stopped_runs(runs) -> None:
    make_fixture_set(runs)
    spawn = FakeSpawn()
    app = make_app(runs, spawn)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("r")  # the running one: refused
        assert spawn.calls == []
        table = app.screen.query_one("#runs-table", DataTable)
        keys = [str(k.value) for k in table.rows]
        table.move_cursor(row=keys.index("20260101-080000-stopped"))
        await pilot.pause()
        await pilot.press("r")
        assert spawn.calls and spawn.calls[0][0][-1] == "--resume"


# history
@sync
async def test_history_sort_filter_pareto_compare(runs) -> None:
    make_fixture_set(runs)
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#history-table", DataTable)
        assert table.row_count == 6
        screen.sort_column, screen.descending = "top-1", True
        screen.apply()
        assert str(table.coordinate_to_cell_key((0, 0)).row_key.value) == "20251231-070000-mobilenetv2"
        await pilot.press("slash", *list("kind=search done"))
        await pilot.pause()
        assert table.row_count == 2
        await pilot.press("enter", "x", "down", "x")
        await pilot.pause()
        assert len(screen.marked) == 2
        await pilot.press("v")
        await pilot.pause()
        text = plain(screen.query_one("#compare-view", Static).content)
        assert "20260104-110000-energy-heavy" in text and "20260103-100000-latency-heavy" in text
        assert "arch diff" in text
        screen.query_one("#history-filter", Input).value = ""
        await pilot.press("p")
        await pilot.pause()
        legend = plain(screen.query_one("#pareto-legend", Static).content)
        # latency x energy x accuracy (hanna_tui/pareto.py): the more accurate, costlier baseline is optimal too
        assert "2 Pareto-optimal" in legend and "20260104-110000-energy-heavy" in legend and "20251231-070000-mobilenetv2" in legend


def test_pareto_front() -> None:
    points = [(1.0, 5.0), (2.0, 2.0), (3.0, 3.0), (4.0, 1.0), (2.0, 6.0)]
    assert front([{"latency": x, "energy": y} for x, y in points], COST) == {0, 1, 3}


@sync
async def test_history_empty_state(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert app.screen.query_one("#history-empty").display
        assert "No runs yet" in plain(app.screen.query_one("#history-empty", Static).content)


# profiles, deploy, palette, theme
@sync
async def test_profiles_screen_shows_tables_and_quirks(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        screen = app.screen
        for _ in range(200):  # the screen fills itself after it is shown; give a loaded machine time
            await pilot.pause(0.05)
            if "rpi3b" in plain(screen.query_one("#profile-info", Static).content):
                break
        assert screen.query_one("#profile-list", OptionList).option_count >= 1
        info = plain(screen.query_one("#profile-info", Static).content)
        assert "rpi3b" in info and "Raspberry Pi 3" in info
        lat = plain(screen.query_one("#latency-heat", Static).content)
        assert "[ms]" in lat and "308.0" in lat  # layer 0, k3_e1: 0.308 s shown in ms
        assert "[J]" in plain(screen.query_one("#energy-heat", Static).content)
        assert "quirks" in plain(screen.query_one("#profile-quirks", Static).content)
        await pilot.press("n")  # profile a target: a screen or a clear message, never a crash
        await pilot.pause()
        assert app.is_running


@sync
async def test_profiles_empty_state(runs, tmp_path) -> None:
    empty = tmp_path / "no-profiles"
    empty.mkdir()
    app = make_app(runs, profiles=empty)
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.readout is None
        await pilot.press("ctrl+s")
        assert list(runs.iterdir()) == []
        await pilot.press("f4")
        await pilot.pause()
        assert "No profiles in" in " ".join(plain(w.content) for w in app.screen.query(".empty-state").results(Static))


@sync
async def test_deploy_mode_and_palette_and_theme(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        assert app.current_mode == "deploy"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Go to Knobs", "Go to Runs", "Go to History", "Go to Profiles", "Go to Deploy"} <= set(titles)
        await pilot.press("f1")
        await pilot.pause()
        assert "Launch search" in [c.title for c in app.get_system_commands(app.screen)]
        theme = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != theme
