"""One process per run directory: racing starts, stale locks, and cancel that signals only the run's process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from search_support import REPO_ROOT, cli_env, start_cli, tiny_config

from hanna_tui.store import LockRecord, ProcessRecord, Run, RunBusy, create_run_at, process_start_ticks

HOLD = """
import sys, time
from hanna_tui.store import Run
lock = Run(sys.argv[1]).lock("test holder")
print("held", flush=True)
time.sleep(60)
"""


def _holder(run_dir: Path) -> subprocess.Popen:
    """A real process that holds the run's lock until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], cwd=REPO_ROOT, env=cli_env(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def test_two_racing_starts_one_runs_the_other_exits_2_naming_the_holder(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, epochs=1)
    for trial in range(20):
        run_dir = tmp_path / f"race-{trial}"
        procs = [start_cli("search", "--config", str(cfg), "--run-dir", str(run_dir)) for _ in range(2)]
        try:
            loser = _first_exit(procs)
            winner = procs[1 - procs.index(loser)]
            _, err = loser.communicate(timeout=30)
            assert loser.returncode == 2, err
            lines = err.strip().splitlines()
            assert len(lines) == 1 and f"in use by pid {winner.pid}" in lines[0] and str(run_dir) in lines[0], err
            assert winner.poll() is None  # the winner is still working on the run
            record = LockRecord.read(Run(run_dir).lock_path)
            assert record is not None and record.process.pid == winner.pid and record.purpose == "search"
        finally:
            for proc in procs:
                _kill(proc)


def _first_exit(procs: list[subprocess.Popen], timeout: float = 120.0) -> subprocess.Popen:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                return proc
        time.sleep(0.02)
    raise AssertionError("neither start exited")


def test_a_live_holder_is_named_and_a_dead_ones_lock_is_taken_over(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "x")
    holder = _holder(run.path)
    try:
        with pytest.raises(RunBusy) as info:
            run.lock("search")
        assert f"pid {holder.pid} on {socket.gethostname()}, test holder since" in str(info.value)
        assert run.holder() is not None and run.holder().process.pid == holder.pid  # type: ignore[union-attr]
    finally:
        _kill(holder)  # kill -9: the file stays behind, the flock dies with the process
    assert run.lock_path.exists() and run.holder() is None
    with run.lock("search") as lock:
        assert lock.held and LockRecord.read(run.lock_path).process.pid == os.getpid()  # type: ignore[union-attr]
    assert not run.lock_path.exists()


def test_a_lock_file_naming_a_dead_pid_is_stale(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "x")
    run.lock_path.write_text(json.dumps({"pid": 2**22 + 7, "host": socket.gethostname(), "since": "then", "purpose": "search"}))
    assert run.holder() is None
    run.lock("search").release()


def test_a_failed_start_in_a_new_folder_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new"
    lock = Run(target).lock("search")
    assert target.is_dir()
    lock.release()  # nothing was written: the folder it made goes again
    assert not target.exists()


def test_cancel_never_signals_a_pid_that_is_not_the_runs_process(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        run = create_run_at(tmp_path / "r", "x")
        run.update_status(state="running", pid=bystander.pid, host=socket.gethostname())
        assert "nothing signalled" in run.request_stop()  # status names it, but it holds no lock of this run
        # a lock record naming the bystander's pid with another start time: a recycled pid
        start = process_start_ticks(bystander.pid)
        assert start is not None
        fake = {"pid": bystander.pid, "host": socket.gethostname(), "pid_start": start + 1, "since": "x", "purpose": "search"}
        run.lock_path.write_text(json.dumps(fake))
        assert ProcessRecord.from_status(fake).state() == "gone"  # type: ignore[union-attr]
        assert "nothing signalled" in run.request_stop()
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        _kill(bystander)


def test_cancel_signals_the_lock_holder(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "x")
    holder = _holder(run.path)
    try:
        run.update_status(state="running", pid=holder.pid, host=socket.gethostname())
        assert f"sent SIGTERM to {run.id} (pid {holder.pid}" in run.request_stop()
        assert holder.wait(timeout=30) == -signal.SIGTERM
    finally:
        _kill(holder)


def test_pressing_resume_twice_starts_one_resume(tmp_path: Path) -> None:
    from hanna_tui.tui.launch import resume_search

    run = create_run_at(tmp_path / "resumed", "tiny", extra={"origin": "tui"})  # queued: --resume may start it
    tiny_config(run.path, epochs=1, name="config.toml")
    env = cli_env()
    spawned: list[subprocess.Popen] = []

    def spawn(cmd, log_path: Path) -> subprocess.Popen:
        with open(log_path, "ab") as log:
            child = subprocess.Popen(list(cmd), cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        spawned.append(child)
        return child

    try:
        resume_search(run, spawn=spawn)
        resume_search(run, spawn=spawn)
        loser = _first_exit(spawned)
        assert loser.wait(timeout=30) == 2
        assert "in use by pid" in (run.path / "search.log").read_text()
        winner = spawned[1 - spawned.index(loser)]
        assert winner.poll() is None and run.holder() is not None and run.holder().process.pid == winner.pid  # type: ignore[union-attr]
    finally:
        for child in spawned:
            _kill(child)
