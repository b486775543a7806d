"""The run store: directories, atomic status, whole JSON lines, summaries."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hanna_tui.fsutil import iter_jsonl
from hanna_tui.store import Run, create_run, create_run_at, find_run, list_runs, summarize


def test_create_run_writes_meta_and_queued_status(isolated_runs_root: Path) -> None:
    run = create_run("my search", extra={"knobs": {"alpha": 0.2}, "space": "fbnet-cifar10", "mode": "sampled"})
    assert run.path.parent == isolated_runs_root
    assert run.meta()["kind"] == "search" and run.meta()["knobs"] == {"alpha": 0.2}
    assert run.status()["state"] == "queued"
    other = create_run("my search")
    assert other.path != run.path


def test_create_run_at_a_given_path(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "a" / "b", "x", extra={"mode": "mixture"})
    assert run.exists() and run.meta()["mode"] == "mixture" and run.status()["state"] == "queued"


def test_status_updates_merge_and_leave_no_temp_files(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "x")
    run.update_status(state="running", pid=os.getpid(), epoch=1)
    run.update_status(epoch=2, latest={"acc": 0.5})
    status = json.loads(run.status_path.read_text())
    assert status["state"] == "running" and status["epoch"] == 2 and status["latest"] == {"acc": 0.5}
    assert not [p for p in run.path.iterdir() if p.name.endswith(".tmp")]


def test_metrics_are_whole_lines_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "x")
    run.log_metrics({"kind": "interval", "loss": 1.0})
    run.log_metrics({"kind": "epoch", "loss": 0.5})
    with open(run.metrics_path, "a", encoding="utf-8") as handle:
        handle.write('{"kind": "interval", "lo')
    records = list(iter_jsonl(run.metrics_path))
    assert [r["kind"] for r in records] == ["interval", "epoch"] and "time" in records[0]
    assert [r["loss"] for r in run.metrics("epoch")] == [0.5]


def test_summary_and_dead_pid_reads_as_interrupted(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "x", extra={"knobs": {"alpha": 0.1, "beta": 1.0}, "space": "fbnet-cifar10"})
    run.update_status(state="running", pid=2**22 + 12345, host=os.uname().nodename, epoch=3, total_epochs=8, progress=0.4, best_acc=0.3)
    s = summarize(run)
    assert s.state == "interrupted" and s.epoch == 3 and s.total_epochs == 8 and s.search_acc == 0.3
    assert s.knobs["alpha"] == 0.1


def test_list_and_find_runs(isolated_runs_root: Path) -> None:
    a = create_run("first")
    create_run("second")
    assert len(list_runs()) == 2
    assert find_run(a.id).path == a.path
    assert find_run(str(a.path)).path == a.path
    assert Run(a.path).exists()
