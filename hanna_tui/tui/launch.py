"""Starting and steering background processes from the dashboard (no textual here).

Searches run as detached `python -m hanna_tui search` processes with one torch thread and a lower
CPU priority, so the dashboard stays responsive on a 2-core machine and the search survives it.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import SearchConfig, demo_config, validate_config
from ..store import Run, create_run, pid_alive

NICE = 10
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

Spawner = Callable[[Sequence[str], Path], "subprocess.Popen[bytes] | None"]


@dataclass
class LaunchForm:
    """What the knobs screen holds, already parsed."""

    alpha: float
    beta: float
    gamma: float
    delta: float
    profile: str
    space: str = "fbnet-cifar10"
    data: str = "synthetic"
    epochs: int = 16  # as demo_config()
    mode: str = "sampled"
    seed: int = 0
    name: str = "tui"
    threads: int = 1  # torch threads of the search: one leaves the other core to the dashboard


def build_config(form: LaunchForm, base: SearchConfig | None = None) -> SearchConfig:
    """The demo config with the form's choices; raises ConfigError when a value is out of range."""
    cfg = base or demo_config()
    cfg.run.name = form.name
    cfg.run.seed = form.seed
    cfg.run.threads = form.threads
    cfg.space.name = form.space
    cfg.profile.path = str(Path(form.profile).resolve())
    cfg.knobs = replace(cfg.knobs, alpha=form.alpha, beta=form.beta, gamma=form.gamma, delta=form.delta)
    cfg.data.name = form.data
    cfg.search.epochs = form.epochs
    cfg.search.warmup_epochs = min(cfg.search.warmup_epochs, max(0, form.epochs - 1))
    cfg.search.mode = form.mode
    validate_config(cfg, "knobs screen")
    return cfg


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hanna_tui", *args]


def spawn_detached(cmd: Sequence[str], log_path: Path) -> subprocess.Popen[bytes]:
    """A process in its own session, output to a log, fewer threads and lower priority than the UI."""
    env = {**os.environ, **WORKER_ENV}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        os.setpriority(os.PRIO_PROCESS, proc.pid, NICE)
    except OSError:
        pass
    return proc


def launch_search(
    form: LaunchForm, root: str | os.PathLike | None = None, spawn: Spawner = spawn_detached, base: SearchConfig | None = None
) -> tuple[Run, object]:
    cfg = build_config(form, copy.deepcopy(base) if base is not None else None)
    extra = {
        "knobs": {"alpha": form.alpha, "beta": form.beta, "gamma": form.gamma, "delta": form.delta},
        "space": cfg.space.name,
        "mode": cfg.search.mode,
        "device": _device_name(cfg.profile.path),
        "profile": cfg.profile.path,
        "source": "tui",
    }
    run = create_run(form.name, kind="search", root=root, extra=extra)
    run.write_config_text(cfg.to_toml())
    run.update_status(total_epochs=cfg.search.epochs)
    proc = spawn(cli_command("search", "--config", str(run.config_path), "--run-dir", str(run.path)), run.path / "search.log")
    return run, proc


def resume_search(run: Run, spawn: Spawner = spawn_detached) -> object:
    return spawn(cli_command("search", "--config", str(run.config_path), "--run-dir", str(run.path), "--resume"), run.path / "search.log")


def start_training(run: Run, spawn: Spawner = spawn_detached) -> object:
    return spawn(cli_command("train", str(run.path)), run.path / "train.log")


def cancel_search(run: Run) -> str:
    """SIGTERM to the search process; returns a message for the user."""
    status = run.status()
    pid = status.get("pid")
    if status.get("state") not in ("running", "queued"):
        return f"{run.id} is {status.get('state', 'queued')}, nothing to cancel"
    if status.get("host") not in (None, socket.gethostname()):
        return f"{run.id} runs on {status.get('host')}; cancel it there"
    if not pid_alive(pid):
        return f"{run.id}: its process is gone"
    os.kill(int(pid), signal.SIGTERM)
    return f"sent SIGTERM to {run.id} (pid {pid}); it saves and stops"


def sample_run(run: Run, timeout: float = 120.0) -> tuple[int, str]:
    """Run `hanna-tui sample RUN` and return (exit code, output)."""
    proc = subprocess.run(cli_command("sample", str(run.path)), capture_output=True, text=True, timeout=timeout, env={**os.environ, **WORKER_ENV})
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _device_name(profile_path: str) -> str:
    from ..profiles import load_profile

    try:
        return load_profile(profile_path).device_name
    except Exception:  # noqa: BLE001 - a broken profile is reported by the search itself
        return ""
