"""One sweep setting through the pipeline: search -> sample -> train -> deploy, each a CLI subprocess.

A step whose result is already in the run directory is skipped, an unfinished search or training
resumes from its checkpoint, and a step whose process is still alive (a batch that was killed
while its children kept running) is waited for instead of being started twice.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EXIT_UNREACHABLE
from ..store import Run, now_iso

POLL_S = 0.5
TERM_GRACE_S = 10.0


@dataclass
class Job:
    """Plain data (picklable for Ray): where the run lives and which steps to run."""

    name: str
    label: str
    index: int
    settings: dict[str, Any]
    run_dir: str
    config_file: str
    log_dir: str
    cwd: str
    threads: int = 1
    knobs: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] | None = None  # TrainStep as a dict when enabled
    deploy: dict[str, Any] | None = None  # DeployStep as a dict when enabled


@dataclass
class JobResult:
    name: str
    state: str  # done | failed | unreachable | interrupted
    steps: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Interrupted(Exception):
    """The batch was asked to stop."""


class Control:
    """Shared between the executor and the jobs of one process: stop flag and live child processes."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()

    def add(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.add(proc)

    def discard(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)

    def stop(self) -> None:
        """Ask every live child to stop (SIGTERM), then kill those that outlive the grace period."""
        self.stopping.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + TERM_GRACE_S
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- run-directory state


def search_state(run_dir: Path) -> str:
    return str(Run(run_dir).status().get("state", "missing"))


def train_state(run_dir: Path) -> str:
    return str(Run(run_dir).train_status().get("state", "missing"))


def sample_done(run_dir: Path) -> bool:
    """The search writes arch.json when it finishes; `sample` only fills in when it did not."""
    return Run(run_dir).arch_path.is_file()


def deployed_targets(run_dir: Path) -> set[str]:
    return {d["target"] for d in Run(run_dir).deploy_results() if isinstance(d.get("target"), str)}


# ---------------------------------------------------------------- steps


def planned_steps(job: Job) -> list[str]:
    steps = ["search", "sample"]
    if job.train:
        steps.append("train")
    if job.deploy:
        steps += [f"deploy:{t}" for t in job.deploy["targets"]]
    return steps


def step_done(job: Job, step: str) -> bool:
    run_dir = Path(job.run_dir)
    if step == "search":
        return search_state(run_dir) == "done"
    if step == "sample":
        return sample_done(run_dir)
    if step == "train":
        return train_state(run_dir) == "done"
    return step.split(":", 1)[1] in deployed_targets(run_dir)


def cli_prefix() -> list[str]:
    """How the steps run hanna-tui: HANNA_BATCH_CLI (a command line) or this Python's `-m hanna_tui`."""
    custom = os.environ.get("HANNA_BATCH_CLI", "").strip()
    return shlex.split(custom) if custom else [sys.executable, "-m", "hanna_tui"]


def step_command(job: Job, step: str) -> list[str]:
    cli = cli_prefix()
    run_dir = Path(job.run_dir)
    if step == "search":
        cmd = cli + ["search", "--config", job.config_file, "--run-dir", job.run_dir, "--origin", "batch"]
        return cmd + (["--resume"] if Run(run_dir).checkpoint_path.is_file() else [])
    if step == "sample":
        return cli + ["sample", job.run_dir, "--json"]
    if step == "train":
        return cli + ["train", job.run_dir] + _train_flags(job.train or {})
    target = step.split(":", 1)[1]
    deploy = job.deploy or {}
    cmd = cli + [
        "deploy",
        job.run_dir,
        "--target",
        target,
        "--runtime",
        deploy.get("runtime", "torch"),
        "--precision",
        deploy.get("precision", "fp32"),
    ]
    if deploy.get("energy"):
        cmd += ["--energy", deploy["energy"]]
    return cmd + list(deploy.get("extra_args", []))


def _train_flags(train: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    if train.get("epochs"):
        flags += ["--epochs", str(train["epochs"])]
    for key in ("device", "data"):
        if train.get(key):
            flags += [f"--{key}", str(train[key])]
    return flags + list(train.get("extra_args", []))


def step_run(job: Job, step: str) -> Run | None:
    """The folder whose status a step writes: the run (search) or its training folder (train)."""
    if step == "search":
        return Run(job.run_dir)
    if step == "train":
        return Run(job.run_dir).training()
    return None


# ---------------------------------------------------------------- running


def run_job(job: Job, control: Control | None = None) -> JobResult:
    """Run the steps of one setting in order; never raises for a failed step (the result says it)."""
    control = control or Control()
    result = JobResult(job.name, "done")
    for step in planned_steps(job):
        if control.stopping.is_set():
            result.state = "interrupted"
            result.steps[step] = "not started"
            continue
        if result.state != "done":
            result.steps[step] = "not started"
            continue
        if step_done(job, step):
            result.steps[step] = "skipped (already done)"
            continue
        _run_step(job, step, control, result)
    return result


def _run_step(job: Job, step: str, control: Control, result: JobResult) -> None:
    folder = step_run(job, step)
    pid = folder.live_pid() if folder is not None else None
    try:
        if pid is not None and folder is not None:
            _wait_while_alive(folder, control)
            if step_done(job, step):
                result.steps[step] = "done (adopted a running process)"
                return
        rc = _spawn(job, step, control)
    except Interrupted:
        result.state, result.steps[step] = "interrupted", "interrupted"
        return
    if rc == 0 and step_done(job, step):
        result.steps[step] = "done"
        return
    if control.stopping.is_set():
        result.state, result.steps[step] = "interrupted", "interrupted"
        return
    result.state = "unreachable" if rc == EXIT_UNREACHABLE else "failed"
    result.steps[step] = f"failed (exit {rc})"
    result.error = f"{step}: {_last_line(_log_path(job, step)) or f'exit code {rc}'}"


def _wait_while_alive(folder: Run, control: Control) -> None:
    while folder.live_pid() is not None:
        if control.stopping.is_set():
            raise Interrupted()
        time.sleep(POLL_S)


def _log_path(job: Job, step: str) -> Path:
    return Path(job.log_dir) / f"{job.name}.{step.replace(':', '-')}.log"


def _child_env(job: Job) -> dict[str, str]:
    env = dict(os.environ)
    threads = str(max(1, job.threads))
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, PYTHONUNBUFFERED="1")
    return env


def _spawn(job: Job, step: str, control: Control) -> int:
    log = _log_path(job, step)
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = step_command(job, step)
    cwd = job.cwd if os.path.isdir(job.cwd) else None
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"# {now_iso()} {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=_child_env(job))
    control.add(proc)
    try:
        return _wait(proc, control)
    except BaseException:  # KeyboardInterrupt inside a Ray task, or the executor stopping
        _signal(proc, signal.SIGTERM)
        try:
            proc.wait(TERM_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
        raise
    finally:
        control.discard(proc)


def _wait(proc: subprocess.Popen, control: Control) -> int:
    while True:
        try:
            return proc.wait(POLL_S)
        except subprocess.TimeoutExpired:
            if control.stopping.is_set() and proc.poll() is None:
                continue  # Control.stop() signals it; keep waiting for its exit


def _last_line(path: Path) -> str:
    """The last meaningful line a failed step printed (its one-line error)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        text = line.strip()
        if text and not text.startswith("#"):
            return text[:300]
    return ""
