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
    (run.path / "arch.json").write_text(json.dumps({"space": "fbnet-cifar10", "width_mult": 0.25, "num_classes": 10,
                                                    "choices": CHOICES, "predicted": {"latency_s": 0.002, "energy_j": None}}))
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
