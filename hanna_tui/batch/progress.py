"""Progress on stderr: rich progress bars on a terminal, plain timestamped lines otherwise.

Progress is read from the run directories (the run's and its training's status, deploy results), so it is the
same whichever executor runs the steps, on this machine or on a Ray worker.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..store import Run
from .pipeline import Job, JobResult, deployed_targets, planned_steps, step_done, step_run

WEIGHTS = {"search": 10.0, "sample": 0.2, "train": 4.0}
DEPLOY_WEIGHT = 1.0
HEARTBEAT_S = 60.0  # plain mode: a line at least this often while a run makes progress


@dataclass
class JobProgress:
    fraction: float  # 0..1 of the whole pipeline of this setting
    step: str
    key: str  # changes when there is something worth a plain line (a new step or epoch)
    text: str


def _fraction(status: dict[str, Any]) -> float:
    if "progress" in status:
        return max(0.0, min(1.0, float(status.get("progress") or 0.0)))
    total = status.get("total_epochs") or 0
    return min(1.0, float(status.get("epoch", 0) or 0) / total) if total else 0.0


def _status_text(step: str, status: dict[str, Any]) -> tuple[str, str]:
    epoch, total = status.get("epoch", 0), status.get("total_epochs", 0)
    latest = status.get("latest", {}) or {}
    parts = [f"{step} {status.get('state', 'starting')}"]
    if total:
        parts.append(f"epoch {epoch}/{total}")
    for key in ("loss", "acc", "top1", "lat", "ener"):
        value = latest.get(key, status.get(key) if key == "top1" else None)
        if isinstance(value, (int, float)):
            parts.append(f"{key} {value:.4g}")
    return " ".join(parts), f"{step}:{status.get('state')}:{epoch}"


def job_progress(job: Job) -> JobProgress:
    steps = planned_steps(job)
    weights = [WEIGHTS.get(s, DEPLOY_WEIGHT) for s in steps]
    done_w = 0.0
    run_dir = Path(job.run_dir)
    for step, weight in zip(steps, weights, strict=True):
        if step_done(job, step):
            done_w += weight
            continue
        status = _step_status(job, step)
        text, key = _status_text(step, status) if status else (f"{step} waiting", f"{step}:waiting")
        frac = (done_w + weight * _fraction(status)) / sum(weights)
        return JobProgress(frac, step, key, text)
    return JobProgress(1.0, "done", "done", _done_text(run_dir, job))


def _step_status(job: Job, step: str) -> dict[str, Any]:
    folder = step_run(job, step)
    return folder.status() if folder is not None else {}


def _done_text(run_dir: Path, job: Job) -> str:
    run = Run(run_dir)
    arch = run.arch() or {}
    pred = arch.get("predicted", {}) if isinstance(arch, dict) else {}
    parts = ["done"]
    if isinstance(pred.get("latency_s"), (int, float)):
        parts.append(f"lat {pred['latency_s']:.4g}s ener {pred.get('energy_j', float('nan')):.4g}J")
    top1 = run.train_status().get("top1")
    if isinstance(top1, (int, float)):
        parts.append(f"top1 {top1:.4g}")
    if job.deploy:
        parts.append(f"deployed {len(deployed_targets(run_dir))}/{len(job.deploy['targets'])}")
    return " ".join(parts)


class PlainReporter:
    """Timestamped lines; one per step, epoch and finished run."""

    def __init__(self, stream: TextIO, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.stream = stream
        self.heartbeat_s = heartbeat_s
        self._last: dict[str, tuple[str, float, float]] = {}  # job -> (key, time, fraction) of its last line

    def log(self, message: str) -> None:
        self.stream.write(f"{time.strftime('%H:%M:%S')} {message}\n")
        self.stream.flush()

    def start(self, jobs: list[Job]) -> None:
        pass

    def update(self, job: Job, progress: JobProgress) -> None:
        if progress.key.endswith(":waiting") or progress.step == "done":
            return  # queued, or between two steps: nothing new to say
        key, when, fraction = self._last.get(job.name, ("", 0.0, -1.0))
        now = time.monotonic()
        moved = progress.fraction > fraction and now - when >= self.heartbeat_s  # a long epoch still shows life
        if progress.key != key or moved:
            self._last[job.name] = (progress.key, now, progress.fraction)
            self.log(f"[{job.label}] {progress.text} ({progress.fraction:.0%})")

    def finish(self, job: Job, result: JobResult) -> None:
        detail = result.error or (job_progress(job).text.removeprefix("done ") if result.state == "done" else "")
        self.log(f"[{job.label}] {result.state}" + (f": {detail}" if detail and detail != result.state else ""))

    def close(self) -> None:
        pass


class RichReporter(PlainReporter):
    """One progress bar per setting and one for the batch."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        self.console = Console(file=stream)
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[text]}"),
            console=self.console,
        )
        self._tasks: dict[str, Any] = {}

    def log(self, message: str) -> None:
        self.progress.console.print(f"{time.strftime('%H:%M:%S')} {message}", markup=False, highlight=False)

    def start(self, jobs: list[Job]) -> None:
        self.progress.start()
        for job in jobs:
            self._tasks[job.name] = self.progress.add_task(job.label[:28], total=1.0, text="queued")

    def update(self, job: Job, progress: JobProgress) -> None:
        task = self._tasks.get(job.name)
        if task is not None:
            self.progress.update(task, completed=progress.fraction, text=progress.text)

    def finish(self, job: Job, result: JobResult) -> None:
        task = self._tasks.get(job.name)
        if task is not None:
            text = result.state + (f": {result.error}" if result.error else "")
            self.progress.update(task, completed=1.0 if result.state == "done" else None, text=text)
        super().finish(job, result)

    def close(self) -> None:
        self.progress.stop()


def make_reporter(stream: TextIO | None = None) -> PlainReporter:
    stream = stream or sys.stderr
    if stream.isatty():
        try:
            return RichReporter(stream)
        except ImportError:
            pass
    return PlainReporter(stream)
