"""The dashboard's focus model and live views, one Pilot test per trap users met (issue 11).

- single-letter keys act on the screen; text goes into a field only after the user enters it;
- History keys with the focus arriving from another screen never type into the filter;
- Enter in the Deploy target field deploys; every input of the profile form has a visible label;
- ? opens the keys of the current screen; the launch form refuses what would fail after launch;
- a new profile, a sampled childnet and a training show up without a reload.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("textual")

from textual.containers import Horizontal  # noqa: E402
from textual.widgets import Checkbox, DataTable, Input, Label, OptionList, RichLog, Select, Static  # noqa: E402

from hanna_tui.tui.app import HannaApp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from fixtures import make_fixture_set, make_run  # noqa: E402
from test_tui_support import PROFILES, FakeSpawn, plain, sync  # noqa: E402

SIZE = (120, 40)


@pytest.fixture()
def runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("HANNA_RUNS", str(root))
    monkeypatch.setenv("HANNA_PRESETS", str(tmp_path / "presets"))
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-ssh-config"))
    return root


def make_app(root: Path, spawn=None, profiles: Path = PROFILES, prebuild: bool = False) -> HannaApp:
    return HannaApp(runs_root=root, profiles=profiles, spawn=spawn or FakeSpawn(), poll_s=0.2, prebuild=prebuild)


async def wait_until(pilot, check, tries: int = 100, pause: float = 0.1) -> bool:
    for _ in range(tries):
        if check():
            return True
        await pilot.pause(pause)
    return check()


@sync
async def test_letters_act_on_the_knobs_screen_until_a_field_is_entered(runs) -> None:
    spawn = FakeSpawn()
    app = make_app(runs, spawn)
    async with app.run_test(size=SIZE) as pilot:
        alpha = app.screen.query_one("#alpha", Input)
        before = alpha.value
        await pilot.press("x", "7")  # no field entered: nothing is typed anywhere
        assert alpha.value == before and not isinstance(app.focused, Input)
        await pilot.press("a")  # a enters the alpha field
        assert app.focused is alpha
        await pilot.press("end", "ctrl+u", "0", ".", "5", "escape")
        assert alpha.value == "0.5" and not isinstance(app.focused, Input)
        await pilot.press("l")  # and l launches once the field is left
        await pilot.pause()
        assert len(spawn.calls) == 1 and json.loads(next(runs.iterdir()).joinpath("run.json").read_text())["knobs"]["alpha"] == 0.5


@sync
async def test_history_keys_with_focus_arriving_from_another_screen(runs) -> None:
    make_fixture_set(runs)
    app = make_app(runs, prebuild=True)  # history built ahead in the background, as in real use
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause(0.5)
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        assert await wait_until(pilot, lambda: screen.query_one("#history-table", DataTable).row_count == 6)
        await pilot.press("p", "x", "x", "v")
        await pilot.pause()
        assert screen.query_one("#history-filter", Input).value == ""
        assert screen.query_one("#history-table", DataTable).row_count == 6
        assert screen.query_one("#history-tabs").active == "compare"
        await pilot.press("1", "3")  # leave and come back: still not in the filter
        await pilot.pause()
        assert not isinstance(app.focused, Input)
        await pilot.press("slash", "d", "o", "n", "e", "escape", "s")  # the filter only after / ; escape leaves it
        await pilot.pause()
        assert screen.query_one("#history-filter", Input).value == "done" and screen.sort_column != "date"


@sync
async def test_enter_in_the_deploy_target_field_deploys(runs) -> None:
    make_fixture_set(runs)  # energy-heavy and latency-heavy have a sampled childnet
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await pilot.pause()
        screen = app.screen
        assert await wait_until(pilot, lambda: screen.query_one("#deploy-runs", OptionList).option_count >= 2)
        target = screen.query_one("#target", Input)
        target.focus()
        await pilot.press("end", "ctrl+u", *"root@127.0.0.1:1", "enter")  # a closed loopback port
        await app.workers.wait_for_complete()
        await pilot.pause()
        log = "\n".join(str(line) for line in screen.query_one("#deploy-log", RichLog).lines)
        assert "to root@127.0.0.1:1" in log and "failed" in log
        assert not screen.busy


@sync
async def test_every_input_of_the_profile_form_has_a_visible_label(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        labels = {}
        for widget in [*screen.query(Input), *screen.query(Select), *screen.query(Checkbox)]:
            row = widget.parent
            assert isinstance(row, Horizontal), f"{widget.id} has no labelled row"
            label = row.query_one(Label)
            text = plain(label.content).strip()
            assert text and label.region.width > 0, f"{widget.id} has no visible label"
            labels[widget.id] = text
        assert labels["width"] == "width multiplier" and labels["out"] == "output name" and labels["target"] == "target"


@sync
async def test_question_mark_lists_the_keys_of_the_current_screen(runs) -> None:
    make_fixture_set(runs)
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        for key, wanted in (("1", "Launch search"), ("2", "Train"), ("3", "Charts"), ("4", "Profile a target"), ("5", "Deploy")):
            await pilot.press(key)
            await pilot.pause()
            shown = app.screen
            await pilot.press("question_mark")
            await pilot.pause()
            assert type(app.screen).__name__ == "HelpScreen"
            text = plain(app.screen.query_one("#help-screen-keys", Static).content)
            assert wanted in text and type(shown).__name__.removesuffix("Screen") in text
            assert "1 .. 5" in plain(app.screen.query_one("#help-app-keys", Static).content)
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is shown


@sync
async def test_launch_form_refuses_what_would_fail_after_launch(runs, tmp_path) -> None:
    spawn = FakeSpawn()
    app = make_app(runs, spawn)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#data", Select).value = "cifar10"
        screen.query_one("#data-root", Input).value = str(tmp_path / "no-data")
        await pilot.pause()
        errors = plain(screen.query_one("#form-errors", Static).content)
        assert "cifar10 not found" in errors and "no-data" in errors
        await pilot.press("l")
        assert spawn.calls == [] and list(runs.iterdir()) == []
        screen.query_one("#download", Checkbox).value = True  # with download the same form is fine
        await pilot.pause()
        assert screen.errors == []
        screen.query_one("#download", Checkbox).value = False
        screen.query_one("#data", Select).value = "synthetic"
        screen.query_one("#space", Select).value = "fbnet-imagenet"  # the only profile times fbnet-cifar10
        await pilot.pause()
        assert any(e.startswith("space") and "fbnet-cifar10" in e for e in screen.errors), screen.errors
        screen.query_one("#space", Select).value = "fbnet-cifar10"
        screen.query_one("#warmup", Input).value = "16"  # as many warm-up epochs as epochs: theta never trains
        await pilot.pause()
        assert any("warm-up" in e for e in screen.errors), screen.errors
        await pilot.press("l")
        assert spawn.calls == []


@sync
async def test_new_profile_and_sampled_childnet_show_without_reload(runs, tmp_path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    shutil.copy(PROFILES / "rpi3b-hanna.toml", profiles / "rpi3b-hanna.toml")
    make_run(runs, "20260107-000000-fresh", state="done", epochs_done=2, total_epochs=2)
    arch = runs / "20260107-000000-fresh" / "arch.json"
    saved = arch.read_text()
    arch.unlink()
    app = make_app(runs, profiles=profiles)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        listing = app.screen.query_one("#profile-list", OptionList)
        assert await wait_until(pilot, lambda: listing.option_count == 1)
        shutil.copy(PROFILES / "rpi3b-hanna.toml", profiles / "second-board.toml")
        assert await wait_until(pilot, lambda: listing.option_count == 2), "the new profile did not appear"
        await pilot.press("5")
        await pilot.pause()
        deploy = app.screen.query_one("#deploy-runs", OptionList)
        assert await wait_until(pilot, lambda: deploy.option_count == 1 and deploy.get_option_at_index(0).disabled)
        arch.write_text(saved)  # sampled meanwhile (elsewhere)
        assert await wait_until(pilot, lambda: deploy.option_count == 1 and not deploy.get_option_at_index(0).disabled)


@sync
async def test_runs_show_the_training_beside_the_search(runs) -> None:
    make_run(
        runs,
        "20260108-000000-trained",
        state="done",
        epochs_done=4,
        total_epochs=4,
        train={"state": "cancelled", "epoch": 1, "total_epochs": 2, "top1": 0.25, "progress": 0.5},
    )
    (runs / "20260108-000000-trained" / "train" / "metrics.jsonl").write_text(
        json.dumps({"kind": "epoch", "epoch": 1, "loss": 2.0, "top1": 0.25}) + "\n", encoding="utf-8"
    )
    spawn = FakeSpawn()
    app = make_app(runs, spawn)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#runs-table", DataTable)
        assert await wait_until(pilot, lambda: table.row_count == 1)
        row = [plain(c).strip() for c in table.get_row("20260108-000000-trained")]
        assert "cancelled 1/2" in row and "25.0%" in row  # the training's state and its top-1, beside the search's
        assert screen.query_one("#train-curves").display
        assert screen.training.series("epoch", "top1") == ([1.0], [0.25])
        await pilot.press("r")  # a done search with a cancelled training: r resumes the training
        await pilot.pause()
        cmd = spawn.calls[-1][0]
        assert cmd[3:5] == ["train", str(runs / "20260108-000000-trained")] and "--resume" in cmd


@sync
async def test_budgets_on_the_knobs_screen_reach_the_search_config(runs) -> None:
    spawn = FakeSpawn()
    app = make_app(runs, spawn)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#budget-lat", Input).value = "fast"
        await pilot.pause()
        assert any(e.startswith("budget-lat") for e in screen.errors), screen.errors
        screen.query_one("#budget-lat", Input).value = "3.25"
        await pilot.pause()
        assert screen.errors == []
        await pilot.press("l")
        await pilot.pause()
        config = next(runs.iterdir()).joinpath("config.toml").read_text()
        assert "[constraints]" in config and "latency_s = 3.25" in config and "energy_j = 0.0" in config


@sync
async def test_jobs_start_their_own_processes_with_the_form_arguments(runs, tmp_path) -> None:
    make_fixture_set(runs)
    batch = tmp_path / "sweep.toml"
    batch.write_text("# a batch file\n", encoding="utf-8")
    spawn = FakeSpawn()
    app = make_app(runs, spawn)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("b")  # baseline: the model select, then epochs
        await pilot.pause()
        app.screen.query_one("#job-epochs", Input).value = "3"
        app.screen.query_one("#job-epochs", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        cmd = spawn.calls[-1][0]
        assert cmd[3:5] == ["baseline", "mobilenetv2"] and cmd[cmd.index("--epochs") + 1] == "3"
        assert cmd[cmd.index("--runs") + 1] == str(runs)
        await pilot.press("w")  # sweep: a file that is not there is refused in the form
        await pilot.pause()
        field = app.screen.query_one("#job-file", Input)
        field.value = str(tmp_path / "missing.toml")
        field.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "no such file" in plain(app.screen.query_one("#job-errors", Static).content) and len(spawn.calls) == 1
        field.value = str(batch)
        await pilot.press("enter")
        await pilot.pause()
        assert spawn.calls[-1][0][3:] == ["--batch", str(batch.resolve())]
        await pilot.press("e")  # export of the selected run
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        cmd = spawn.calls[-1][0]
        assert cmd[3] == "export" and cmd[cmd.index("--format") + 1] == "torchscript"
        assert len(app.jobs) == 3


@sync
async def test_charts_explain_an_empty_view_and_runs_plot_budget_multipliers(runs) -> None:
    make_run(runs, "20260109-000000-budget", state="running", epochs_done=1, total_epochs=4)
    with open(runs / "20260109-000000-budget" / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"kind": "epoch", "epoch": 2, "phase": "theta", "lambda_latency": 0.5, "gap_latency": -0.1}) + "\n")
    app = make_app(runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        screen.source = "measured"  # nothing was deployed: the view says so instead of an empty frame
        await pilot.press("p")
        await pilot.pause()
        legend = plain(screen.query_one("#pareto-legend", Static).content)
        assert "no run has been measured on a board yet" in legend and not screen.query_one("#pareto-plot").display
        await pilot.press("2")
        await pilot.pause()
        runs_screen = app.screen
        assert await wait_until(pilot, lambda: runs_screen.detail is not None)
        assert runs_screen.budget_keys() == ("lambda_latency", "gap_latency")
        assert runs_screen.detail.follower.series("epoch", "lambda_latency") == ([2.0], [0.5])


@sync
async def test_a_profile_without_energy_table_gets_a_clear_verdict(runs, tmp_path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    lines = (PROFILES / "rpi3b-hanna.toml").read_text(encoding="utf-8").splitlines()
    start = lines.index("[energy]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("[") and not lines[i].startswith("[energy"))
    (profiles / "rpi3b-hanna.toml").write_text("\n".join(lines[:start] + lines[end:]) + "\n", encoding="utf-8")
    app = make_app(runs, profiles=profiles)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = plain(app.screen.query_one("#readout", Static).content)
        assert "no energy table in this profile" in text and "latency only" in text
        assert "inf" not in text and "∞" not in text
