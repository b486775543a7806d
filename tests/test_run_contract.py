"""The run contract: one run.json schema whatever started the search, one lifecycle, one liveness rule,
--resume refused without a checkpoint, a failed resume leaves the config, runs of the previous version read."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

from search_support import PROFILE, REPO_ROOT, cli_env, run_cli, start_cli, tiny_config

from hanna_tui.store import META_KEYS, ProcessRecord, Run, create_run_at, process_start_ticks, summarize


def _start_and_kill(cmd: list[str]) -> Path:
    """A search process killed as soon as it announced its run (run.json is written by then)."""
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    run_dir = Path(proc.stdout.readline().strip())
    proc.kill()
    proc.wait(timeout=60)
    return run_dir


def test_cli_dashboard_and_batch_write_run_json_with_the_same_keys(tmp_path: Path, isolated_runs_root: Path) -> None:
    import sys

    from hanna_tui.batch.pipeline import Job, step_command
    from hanna_tui.tui.launch import LaunchForm, launch_search

    cfg = tiny_config(tmp_path, epochs=1)
    cli = _start_and_kill([sys.executable, "-m", "hanna_tui", "search", "--config", str(cfg), "--run-dir", str(tmp_path / "cli")])

    job = Job("b", "b", 0, {}, str(tmp_path / "batch"), str(cfg), str(tmp_path / "logs"), str(REPO_ROOT))
    batch = _start_and_kill(step_command(job, "search"))

    commands: list[list[str]] = []
    form = LaunchForm(alpha=0.2, beta=0.6, gamma=0.2, delta=0.3, profile=str(PROFILE), epochs=2)
    tui_run, _ = launch_search(form, root=isolated_runs_root, spawn=lambda cmd, log: commands.append(list(cmd)))
    queued = tui_run.meta()
    tui = _start_and_kill(commands[0])
    assert tui == tui_run.path

    metas = {name: Run(path).meta() for name, path in (("cli", cli), ("batch", batch), ("tui", tui))}
    for origin, meta in metas.items():
        assert set(meta) == set(META_KEYS["search"]), origin
        assert meta["origin"] == origin and meta["kind"] == "search"
        assert isinstance(meta["data"], dict) and meta["data"]["name"] == "synthetic" and "image_size" in meta["data"]
        assert meta["profile_hash"] and meta["device"] and meta["loss_form"] == "additive"
    assert set(queued) == set(metas["tui"])  # the dashboard wrote every key before the process started
    assert metas["cli"]["profile_hash"] == metas["tui"]["profile_hash"] == metas["batch"]["profile_hash"]


def test_lifecycle_records_the_process_once_and_keeps_the_first_start(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "x")
    run.claim(world_size=1)
    status = run.status()
    assert status["pid"] == os.getpid() and status["host"] == socket.gethostname() and status["state"] == "queued"
    assert status["pid_start"] == process_start_ticks(os.getpid())
    first = run.mark_running(total_epochs=3)
    assert first["state"] == "running" and first["ended"] is None and first["error"] is None and first["resumed"] is None
    ended = run.mark_ended("cancelled", "cancelled by SIGTERM")
    assert ended["state"] == "cancelled" and ended["ended"] and ended["error"] == "cancelled by SIGTERM"
    again = run.mark_running(resumed=True)
    assert again["started"] == first["started"] and again["resumed"] and again["error"] is None
    assert run.mark_ended("done", best_acc=0.5)["best_acc"] == 0.5


def test_one_liveness_rule(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "x")
    here = socket.gethostname()
    me = {"state": "running", "pid": os.getpid(), "host": here, "pid_start": process_start_ticks(os.getpid())}
    assert run.liveness(me) == "alive" and run.effective_state(me) == "running"
    assert run.live_pid(me) is None  # never this process
    dead = {**me, "pid": 2**22 + 99}
    assert run.liveness(dead) == "gone" and run.effective_state(dead) == "interrupted"
    recycled = {**me, "pid_start": me["pid_start"] + 1}  # same pid, another process
    assert run.liveness(recycled) == "gone" and run.effective_state(recycled) == "interrupted"
    elsewhere = {**dead, "host": "another-machine.invalid"}
    assert run.liveness(elsewhere) == "elsewhere" and run.effective_state(elsewhere) == "running"
    assert run.liveness({"state": "running"}) == "none" and run.effective_state({"state": "running"}) == "interrupted"
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        other = {"state": "running", "pid": sleeper.pid, "host": here, "pid_start": process_start_ticks(sleeper.pid)}
        assert run.live_pid(other) == sleeper.pid
        assert ProcessRecord.from_status(other).state() == "alive"  # type: ignore[union-attr]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_runs_of_the_previous_version_read(tmp_path: Path) -> None:
    search = tmp_path / "old-search"
    search.mkdir()
    (search / "run.json").write_text(json.dumps({"id": "old-search", "kind": "search", "name": "s", "data": "synthetic", "source": "tui"}))
    (search / "status.json").write_text(json.dumps({"state": "done"}))
    meta = Run(search).meta()
    assert meta["data"] == {"name": "synthetic"} and meta["origin"] == "tui"

    baseline = tmp_path / "old-baseline"  # trained in RUN/ itself
    baseline.mkdir()
    (baseline / "run.json").write_text(json.dumps({"id": "old-baseline", "kind": "baseline", "name": "b", "model": "mobilenetv2"}))
    (baseline / "status.json").write_text(json.dumps({"state": "done", "top1": 0.9, "epoch": 2, "total_epochs": 2, "params": 10}))
    (baseline / "model.json").write_text(json.dumps({"family": "mobilenetv2"}))
    old = Run(baseline)
    assert old.train_path == baseline and old.train_status()["top1"] == 0.9
    summary = summarize(old)
    assert summary.top1 == 0.9 and summary.epoch == 2 and summary.params == 10 and summary.state == "done"

    new = create_run_at(tmp_path / "new-baseline", "b", kind="baseline", extra={"model": "mobilenetv2"})
    assert new.train_path == new.path / "train"


def test_resume_without_a_checkpoint_is_refused_unless_queued(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "stopped", "tiny")
    tiny_config(run.path, epochs=1, name="config.toml")
    run.update_status(state="cancelled")
    before = run.config_path.read_bytes()
    result = run_cli("search", "--run-dir", str(run.path), "--resume")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "no checkpoint to resume from" in result.stderr
    assert run.status()["state"] == "cancelled" and run.config_path.read_bytes() == before and not run.metrics_path.exists()

    queued = create_run_at(tmp_path / "queued", "tiny")
    tiny_config(queued.path, epochs=1, name="config.toml")
    proc = start_cli("search", "--run-dir", str(queued.path), "--resume")
    assert proc.stdout is not None and proc.stdout.readline().strip() == str(queued.path)
    proc.send_signal(signal.SIGTERM)  # stops at the first batch, after the resume record
    assert proc.wait(timeout=180) == 130
    assert queued.status()["state"] == "cancelled"
    assert [(r["epoch"], r["step"]) for r in queued.metrics("resume")] == [(1, 0)]


def test_a_failed_resume_leaves_the_config_as_it_was(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, epochs=1)
    run_dir = tmp_path / "r"
    proc = start_cli("search", "--config", str(cfg), "--run-dir", str(run_dir))
    assert proc.stdout is not None and proc.stdout.readline().strip() == str(run_dir)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=180) == 130
    run = Run(run_dir)
    before, status = run.config_path.read_bytes(), run.status()
    result = run_cli("search", "--run-dir", str(run_dir), "--resume", "--set", "space.width_mult=0.5")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert run.config_path.read_bytes() == before and run.status()["state"] == status["state"] == "cancelled"
    assert not run.metrics("resume")  # nothing was started
