"""End to end: the real `hanna-tui` in tmux launches a real (tiny) demo search and follows it."""

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
    from hanna_tui.cost import CostModel, Knobs, knob_readout
    from hanna_tui.profiles import load_profile

    k = demo_config().knobs
    model = CostModel(load_profile(REPO / "profiles" / "rpi3b-hanna.toml"))
    return fmt.num(knob_readout(model, Knobs(alpha, k.beta, k.gamma, k.delta))["vlat"])


class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def start(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "100", "-y", "30", "-c", str(cwd), f"env {exports} {command}"], check=True)
        subprocess.run(["tmux", "resize-window", "-t", self.name, "-x", "100", "-y", "30"], capture_output=True)

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
        tmux.wait_for("LAT0", 10)
        tmux.keys("C-s")
        tmux.wait_for("running first", 15)
        run_dirs = list(runs.iterdir())
        assert len(run_dirs) == 1
        run_dir = run_dirs[0]
        tmux.wait_for(run_dir.name[:20], 10)
        # the UI stays responsive while the search runs: edit a knob and see the readout move
        tmux.keys("F1")
        tmux.wait_for("Launch search", 10)
        for key in ("End", "C-u", "0", ".", "9"):
            tmux.keys(key)
            time.sleep(0.3)
        tmux.wait_for(expected_vlat(0.9), 20)
        tmux.keys("F2")
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
