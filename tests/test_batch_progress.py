"""Progress read from run directories, and the plain reporter's lines."""

from __future__ import annotations

import io
from pathlib import Path

from hanna_tui.batch.pipeline import Job, JobResult
from hanna_tui.batch.progress import PlainReporter, job_progress, make_reporter
from hanna_tui.fsutil import atomic_write_json


def make_job(tmp_path: Path, train: bool = True) -> Job:
    run_dir = tmp_path / "run"
    return Job(
        "r-1234",
        "r",
        0,
        {},
        str(run_dir),
        str(tmp_path / "c.toml"),
        str(tmp_path / "logs"),
        str(tmp_path),
        train={"epochs": 1} if train else None,
    )


def test_progress_follows_the_steps(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    run_dir = Path(job.run_dir)
    assert job_progress(job).key == "search:waiting" and job_progress(job).fraction == 0
    atomic_write_json(
        run_dir / "status.json", {"state": "running", "epoch": 1, "total_epochs": 4, "progress": 0.5, "latest": {"loss": 1.5, "acc": 0.25}}
    )
    mid = job_progress(job)
    assert mid.step == "search" and "epoch 1/4" in mid.text and "acc 0.25" in mid.text and 0.3 < mid.fraction < 0.4
    atomic_write_json(run_dir / "status.json", {"state": "done", "progress": 1.0})
    atomic_write_json(run_dir / "arch.json", {"predicted": {"latency_s": 0.5, "energy_j": 0.25}})
    assert job_progress(job).step == "train"
    atomic_write_json(run_dir / "train" / "status.json", {"state": "done", "top1": 0.75})
    done = job_progress(job)
    assert done.fraction == 1.0 and done.text == "done lat 0.5s ener 0.25J top1 0.75"


def test_plain_reporter_lines(tmp_path: Path) -> None:
    job = make_job(tmp_path, train=False)
    stream = io.StringIO()
    reporter = PlainReporter(stream, heartbeat_s=0.0)
    reporter.update(job, job_progress(job))  # queued: nothing to say
    atomic_write_json(Path(job.run_dir) / "status.json", {"state": "running", "epoch": 0, "total_epochs": 2, "progress": 0.1})
    reporter.update(job, job_progress(job))
    reporter.update(job, job_progress(job))  # no change: no line
    atomic_write_json(Path(job.run_dir) / "status.json", {"state": "running", "epoch": 0, "total_epochs": 2, "progress": 0.2})
    reporter.update(job, job_progress(job))  # same epoch, but the heartbeat is due
    reporter.finish(job, JobResult(job.name, "failed", error="search: data: not found"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("[r] search running epoch 0/2 (10%)")
    assert lines[2].endswith("[r] failed: search: data: not found")
    assert type(make_reporter(io.StringIO())) is PlainReporter  # not a terminal: plain lines
