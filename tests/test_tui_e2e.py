"""End to end: the real `hanna-tui` in tmux launches a real (tiny) demo search and follows it; then, without
leaving the dashboard, trains its childnet for 2 epochs from the train form, cancels, resumes and finishes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEARCH = REPO / "hanna_tui" / "commands" / "search.py"
EXE = Path(sys.executable).parent / "hanna-tui"

pytestmark = pytest.mark.slow


def tiny_config(path: Path) -> None:
    from hanna_tui.config import demo_config

    cfg = demo_config()
    cfg.profile.path = str(REPO / "profiles" / "rpi3b-hanna.toml")
    cfg.search.epochs = 2
    cfg.search.warmup_epochs = 1
    cfg.search.batch_size = 64
    cfg.data.synthetic_train = 256
    cfg.data.synthetic_test = 64
    cfg.run.log_interval = 1
    path.write_text(cfg.to_toml(), encoding="utf-8")


def expected_vlat(alpha: float) -> str:
    """The vLAT readout the knobs screen must show for alpha (other knobs from the demo config)."""
    from hanna_tui import fmt
    from hanna_tui.config import demo_config
    from hanna_tui.cost import CostModel, knob_readout
    from hanna_tui.knobs import Knobs
    from hanna_tui.profiles import load_profile

    k = demo_config().knobs
    model = CostModel(load_profile(REPO / "profiles" / "rpi3b-hanna.toml"))
    return fmt.num(knob_readout(model, Knobs(alpha, k.beta, k.gamma, k.delta))["vlat"])


class Tmux:
    def __init__(self, name: str, width: int = 100, height: int = 30) -> None:
        self.name, self.width, self.height = name, width, height

    def start(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        # the size in the environment too: Textual reads COLUMNS/LINES first, and pytest may export its own
        env = {**env, "COLUMNS": str(self.width), "LINES": str(self.height)}
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        size = ["-x", str(self.width), "-y", str(self.height)]
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, *size, "-c", str(cwd), f"env {exports} {command}"], check=True)
        subprocess.run(["tmux", "resize-window", "-t", self.name, *size], capture_output=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def capture(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            if text in screen:
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; screen:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not EXE.exists(), reason="the hanna-tui entry point is not installed in this environment")
def test_dashboard_in_tmux_follows_a_real_search(tmp_path) -> None:
    if not SEARCH.exists():
        pytest.skip("hanna_tui/commands/search.py does not exist yet")
    runs = tmp_path / "runs"
    config = tmp_path / "tiny.toml"
    tiny_config(config)
    tmux = Tmux(f"hanna-e2e-{os.getpid()}")
    env = {"HANNA_RUNS": str(runs), "HANNA_PRESETS": str(tmp_path / "presets"), "TERM": "xterm-256color"}
    tmux.start(f"{EXE} tui --config {config}", tmp_path, env)
    try:
        tmux.wait_for("Launch search", 30)
        tmux.wait_for("vLAT", 10)
        tmux.keys("l")
        tmux.wait_for("running first", 15)
        run_dirs = list(runs.iterdir())
        assert len(run_dirs) == 1
        run_dir = run_dirs[0]
        tmux.wait_for(run_dir.name[:20], 10)
        # the UI stays responsive while the search runs: edit a knob and see the readout move
        tmux.keys("F1")
        tmux.wait_for("Launch search", 10)
        for key in ("a", "End", "C-u", "0", ".", "9"):
            tmux.keys(key)
            time.sleep(0.3)
        tmux.wait_for(expected_vlat(0.9), 20)
        tmux.keys("Escape", "F2")
        deadline = time.monotonic() + 240
        screen = ""
        while time.monotonic() < deadline:
            screen = tmux.capture()
            if " done " in screen or " failed " in screen:
                break
            time.sleep(1.0)
        log = (run_dir / "search.log").read_text(errors="replace") if (run_dir / "search.log").exists() else ""
        assert " done " in screen, f"search did not finish; screen:\n{screen}\nlog:\n{log[-2000:]}"
        screen = tmux.wait_for("argmax architecture", 15)
        assert "●" in screen
        tmux.keys("F3")
        screen = tmux.wait_for("History", 10)
        assert run_dir.name[:20] in screen
        tmux.keys("C-q")
        time.sleep(1.0)
    finally:
        tmux.kill()


def wait_for_file_state(path: Path, states: tuple[str, ...], timeout: float) -> dict:
    import json

    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            status = {}
        if status.get("state") in states:
            return status
        time.sleep(0.3)
    raise AssertionError(f"{path} did not reach {states} within {timeout}s: {status}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not EXE.exists(), reason="the hanna-tui entry point is not installed in this environment")
def test_dashboard_trains_cancels_resumes_a_childnet_without_leaving(tmp_path) -> None:
    runs = tmp_path / "runs"
    config = tmp_path / "tiny.toml"
    tiny_config(config)
    tmux = Tmux(f"hanna-e2e-train-{os.getpid()}", 120, 40)
    env = {"HANNA_RUNS": str(runs), "HANNA_PRESETS": str(tmp_path / "presets"), "TERM": "xterm-256color"}
    tmux.start(f"{EXE} tui --config {config}", tmp_path, env)
    try:
        tmux.wait_for("vLAT", 40)
        tmux.keys("l")  # launch the search
        tmux.wait_for("running first", 15)
        run_dir = next(runs.iterdir())
        wait_for_file_state(run_dir / "status.json", ("done", "failed"), 240)
        screen = tmux.wait_for(" done ", 15)
        assert (run_dir / "arch.json").is_file(), screen
        tmux.keys("t")  # the train form: epochs first, then batch, lr, warm-up, train and test images
        tmux.wait_for("Train the childnet", 10)
        for text in ("2", "32", "", "0", "256", "64"):
            if text:
                tmux.keys(text)
            tmux.keys("Tab")
            time.sleep(0.2)
        tmux.keys("Enter")
        train_status = run_dir / "train" / "status.json"
        wait_for_file_state(train_status, ("running",), 60)
        tmux.wait_for("running 0/2", 20)  # the training's state in the runs table, beside the search's
        screen = tmux.wait_for("running 1/2", 240)  # the first epoch ended: state and curve follow
        assert "childnet training: top-1 and loss per epoch" in screen
        tmux.keys("c")  # cancel: SIGTERM to the training, which saves and stops
        status = wait_for_file_state(train_status, ("cancelled", "done", "failed"), 120)
        assert status["state"] == "cancelled", status
        tmux.wait_for("cancelled 1/2", 20)
        tmux.keys("r")  # resume the training from its checkpoint
        status = wait_for_file_state(train_status, ("done", "failed"), 300)
        log = (run_dir / "train.log").read_text(errors="replace")
        assert status["state"] == "done" and status["epoch"] == 2, log[-2000:]
        assert "resum" in log.lower() or status.get("resumed"), log[-2000:]
        screen = tmux.wait_for("done 2/2", 20)
        assert run_dir.name[:20] in screen and "Runs" in screen  # never left the dashboard
        tmux.keys("C-q")
        time.sleep(1.0)
    finally:
        tmux.kill()
