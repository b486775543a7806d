"""DeployScreen and ProfileTargetScreen driven by Textual's Pilot against the local target."""

from __future__ import annotations

import asyncio
import functools
import json
import sys

from test_device_e2e import CHOICES  # noqa: E402 - tests/device is on sys.path (no package)
from textual.app import App
from textual.widgets import Input, OptionList, ProgressBar, Static

from hanna_tui.device.profiler import BenchOptions
from hanna_tui.profiles import load_profile
from hanna_tui.store import Run, create_run
from hanna_tui.tui.deploy_screen import DeployScreen, ProfileTargetScreen

TINY = BenchOptions(warmup_runs=1, warmup_s=0, min_runs=3, min_s=0, max_s=1, jit="eager")


def sync(fn):
    """Run an async test with asyncio.run (no pytest async plugin here)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.first = screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


async def wait_idle(app: App, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


@sync
async def test_deploy_screen_deploys_a_run_locally(tmp_path, monkeypatch):
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-config"))
    run = create_run("screen", root=tmp_path / "runs")
    (run.path / "arch.json").write_text(
        json.dumps(
            {
                "space": "fbnet-cifar10",
                "width_mult": 0.25,
                "num_classes": 10,
                "choices": CHOICES,
                "predicted": {"latency_s": 0.002, "energy_j": None},
            }
        )
    )
    create_run("no-arch", root=tmp_path / "runs")
    screen = DeployScreen(runs_dir=tmp_path / "runs", bench=TINY)
    app = Host(screen)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        assert screen.query_one("#deploy-runs", OptionList).option_count == 1
        assert "not deployed yet" in str(screen.query_one("#deploy-result", Static).render())
        screen.query_one("#python", Input).value = sys.executable
        await pilot.click("#deploy-go")
        await wait_idle(app, pilot)
        results = Run(run.path).deploy_results()
        assert len(results) == 1 and results[0]["target"] == "local"
        text = str(screen.query_one("#deploy-result", Static).render())
        # arch.json's 2 ms came from no profile of this machine: never the comparison
        assert "measured" in text and "predicted 2 ms" not in text and "predicted n/a" in text
        assert "no profile of this board" in text  # the prediction's note: why there is none, and the command that makes one


@sync
async def test_deploy_screen_shows_failures_without_crashing(tmp_path, monkeypatch):
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-config"))
    run = create_run("screen", root=tmp_path / "runs")
    (run.path / "arch.json").write_text(json.dumps({"space": "fbnet-cifar10", "width_mult": 0.25, "num_classes": 10, "choices": CHOICES}))
    screen = DeployScreen(runs_dir=tmp_path / "runs", bench=TINY)
    app = Host(screen)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        screen.query_one("#target", Input).value = "root@127.0.0.1:1"
        await pilot.press("d")
        await wait_idle(app, pilot)
        assert not screen.busy and Run(run.path).deploy_results() == []
        assert any("connection refused" in str(n.message) for n in app._notifications)


@sync
async def test_profile_target_screen_writes_a_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-config"))
    screen = ProfileTargetScreen(profiles_dir=tmp_path / "profiles", bench=TINY)
    app = Host(screen)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause()
        screen.query_one("#width", Input).value = "0.25"
        screen.query_one("#out", Input).value = "here"
        await pilot.click("#profile-go")
        await wait_idle(app, pilot)
        profile = load_profile(tmp_path / "profiles" / "here.toml")
        assert profile.width_mult == 0.25
        bar = screen.query_one("#profile-progress", ProgressBar)
        assert bar.total == bar.progress == 193


@sync
async def test_dashboard_f5_opens_the_deploy_screen(tmp_path, monkeypatch):
    from hanna_tui.tui.app import HannaApp

    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-config"))
    app = HannaApp(runs_root=tmp_path / "runs", profiles=tmp_path / "profiles", poll_s=60)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.screen, DeployScreen)
        assert "no runs with a childnet yet" in str(app.screen.query_one("#deploy-runs", OptionList).get_option_at_index(0).prompt)


class Recorder:
    """A spawner that records the command a form would start and starts nothing."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, cmd, log_path):
        self.calls.append(list(cmd))
        return None


def flag(cmd: list[str], name: str) -> list[str]:
    return [cmd[i + 1] for i, item in enumerate(cmd) if item == name]


@sync
async def test_runtime_and_precision_are_labelled_selects_passed_to_the_cli(tmp_path, monkeypatch):
    from textual.containers import Horizontal
    from textual.widgets import Label, Select

    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-config"))
    run = create_run("screen", root=tmp_path / "runs")
    (run.path / "arch.json").write_text(json.dumps({"space": "fbnet-cifar10", "width_mult": 0.25, "num_classes": 10, "choices": CHOICES}))
    spawn = Recorder()
    screen = DeployScreen(runs_dir=tmp_path / "runs", bench=TINY, spawn=spawn)
    app = Host(screen)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        for wid, label in (("#runtime", "runtime"), ("#precision", "precision")):
            select = screen.query_one(wid, Select)
            assert isinstance(select.parent, Horizontal) and str(select.parent.query_one(Label).content).strip() == label
        assert (screen.query_one("#runtime", Select).value, screen.query_one("#precision", Select).value) == ("torch", "fp32")
        await pilot.press("r", "x")  # single letters act on the screen (r reloads), nothing is typed or chosen
        assert screen.query_one("#runtime", Select).value == "torch"
        screen.query_one("#runtime", Select).value = "onnxruntime"
        screen.query_one("#precision", Select).value = "int8"
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        cmd = spawn.calls[-1]
        # the form's choice, once (the bench's own --runtime/--precision replaced, not repeated)
        assert flag(cmd, "--runtime") == ["onnxruntime"] and flag(cmd, "--precision") == ["int8"]
        assert flag(cmd, "--min-runs") == ["3"]

    spawn = Recorder()
    screen = ProfileTargetScreen(profiles_dir=tmp_path / "profiles", bench=TINY, spawn=spawn)
    app = Host(screen)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause()
        screen.query_one("#precision", Select).value = "int8"
        screen.query_one("#width", Input).value = "0.25"
        await pilot.click("#profile-go")
        await pilot.pause()
        cmd = spawn.calls[-1]
        assert flag(cmd, "--runtime") == ["torch"] and flag(cmd, "--precision") == ["int8"] and flag(cmd, "--width-mult") == ["0.25"]


@sync
async def test_the_deploy_screen_shows_what_a_result_file_holds_as_text_never_as_markup(tmp_path, monkeypatch):
    from hanna_tui.tui.screens.deploy import result_text

    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-config"))
    hostile = "pi[/]\x1b[31m[b]x[/b] [$error]e [Red]r [ red]s \\"  # Textual's markup reads [$var], [Red], [ red] too
    result = {
        "target": hostile,
        "time": "[red]now\\",
        "board": {"model": "Pi [/red] \x07"},
        "measured": {"latency_s": 0.002, "runtime": "torch[/]", "statistic": "p50", "clock": "wall", "stats": {"n": "[b]3"}},
        "predicted": {"latency_s": "oops", "note": "no profile [/] of this board\x1b]0;title\x07"},
    }
    text = result_text(result).plain
    assert hostile.replace("\x1b", "\\x1b") in text and "[red]now\\" in text and "Pi [/red] \\x07" in text
    assert "runs [b]3" in text and "measured with torch[/] · p50 · wall" in text
    assert "no profile [/] of this board\\x1b]0;title\\x07" in text
    assert "\x1b" not in text and "\x07" not in text
    assert "predicted n/a" in text  # a prediction that is not a number is not shown as one
    assert result_text({"measured": 5, "predicted": [], "board": "x"}).plain.startswith("?")

    made = create_run("evil", root=tmp_path / "runs")
    run = Run(made.path.rename(made.path.with_name("evil[$error][Red]x\x1b[2J")))  # a run id is a folder name
    (run.path / "arch.json").write_text(json.dumps({"space": "fbnet-cifar10", "width_mult": 0.25, "num_classes": 10, "choices": CHOICES}))
    (run.path / "deploy").mkdir()
    (run.path / "deploy" / "x-20260101-000000.json").write_text(json.dumps(result))
    screen = DeployScreen(runs_dir=tmp_path / "runs", bench=TINY)
    app = Host(screen)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        pane = screen.query_one("#deploy-result", Static).render()
        assert hostile.replace("\x1b", "\\x1b") in pane.plain and "no profile [/] of this board" in pane.plain
        assert {str(span.style) for span in pane.spans} <= {"bold", "dim"}  # only the screen's own styles
        prompt = screen.query_one("#deploy-runs", OptionList).get_option_at_index(0).prompt
        assert "[$error][Red]x\\x1b[2J" in str(prompt) and "\x1b" not in str(prompt)


def test_a_prediction_says_it_is_like_with_like(tmp_path, repo_root):
    from test_device_e2e import local_profile, make_run

    from hanna_tui.device.agent import board_info
    from hanna_tui.device.deploy import prediction
    from hanna_tui.tui.screens.deploy import result_text

    folder = tmp_path / "profiles"
    path = local_profile(repo_root, folder, clock="wall", statistic="p50")
    run = make_run(tmp_path / "runs")
    predicted = prediction(run, board_info(), BenchOptions(), "local", [folder])
    assert predicted["latency_s"] > 0 and predicted["profile"] == str(path)
    assert predicted["note"].startswith("like with like:") and str(path) in predicted["note"] and "(torch)" in predicted["note"]
    none = prediction(run, board_info(), BenchOptions(precision="int8"), "local", [folder])  # no int8 profile of this board
    assert none["latency_s"] is None and "no profile of this board" in none["note"] and "--precision int8" in none["note"]
    assert predicted["note"] in result_text({"target": "local", "measured": {"latency_s": 0.003}, "predicted": predicted}).plain

    # the result adds whether the measurement's statistic and clock are the profile's
    from types import SimpleNamespace

    from hanna_tui.device.deploy import DeployRequest, build_result
    from hanna_tui.device.profiler import ConnectOptions

    stats = {"p50": 0.003, "min": 0.0025, "mean": 0.0031, "p90": 0.0035}
    doc = {"model": {"latency": stats, "wall": stats, "cpu": stats, "input_shape": [1, 3, 32, 32]}, "board": board_info()}
    exported = SimpleNamespace(artifact=SimpleNamespace(format="torchscript"), sha256="0" * 64, weights="random", calibration="")
    session = SimpleNamespace(probe_info={}, hash="0" * 64)
    for bench, follow, says in (
        (BenchOptions(), True, "measured as the profile holds it (p50, wall clock)"),
        (BenchOptions(statistic="min", clock="cpu"), False, "but measured as min (cpu clock) while the profile holds p50 (wall clock)"),
    ):
        req = DeployRequest(run=run, connect=ConnectOptions("local"), bench=bench, profiles=[folder], follow_profile=follow)
        note = build_result(req, exported, doc, session)["predicted"]["note"]
        assert note.startswith("like with like:") and note.endswith(says), note
