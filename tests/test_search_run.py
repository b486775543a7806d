"""End-to-end searches in a subprocess: the run directory, repeatability, kill -9, SIGTERM, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from search_support import PROFILE, run_cli, start_cli, tiny_config

from hanna_tui.config import load_config
from hanna_tui.fsutil import iter_jsonl, read_json
from hanna_tui.space import get_space
from hanna_tui.store import Run, create_run_at, summarize
from hanna_tui.theta import read_theta

SPACE = get_space("fbnet-cifar10", 0.25)


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"search exited early ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("timed out waiting for the search")


def assert_readable(run_dir: Path) -> None:
    assert isinstance(read_json(run_dir / "status.json"), dict)
    assert isinstance(read_json(run_dir / "run.json"), dict)
    load_config(run_dir / "config.toml")
    list(iter_jsonl(run_dir / "metrics.jsonl"))
    if (run_dir / "checkpoint.pt").exists():
        torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    if (run_dir / "theta.txt").exists():
        read_theta(run_dir / "theta.txt", SPACE)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted tiny search (3 epochs, seed 3): the run the others must reproduce."""
    folder = tmp_path_factory.mktemp("ref")
    cfg = tiny_config(folder, epochs=3, seed=3)
    result = run_cli("search", "--config", str(cfg), "--run-dir", str(folder / "run"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == str(folder / "run")
    return folder / "run"


def test_complete_run_directory(reference_run: Path) -> None:
    run = Run(reference_run)
    status = run.status()
    assert status["state"] == "done" and status["progress"] == 1.0 and status["epoch"] == 3 and status["total_epochs"] == 3
    assert status["pid"] > 0 and status["host"] and status["started"] and status["ended"]
    assert set(status["latest"]) == {"loss", "ce", "lat", "ener", "acc", "temperature"}
    meta = run.meta()
    assert meta["knobs"] == {"alpha": 0.2, "beta": 0.6, "gamma": 0.2, "delta": 0.3}
    assert meta["mode"] == "sampled" and meta["space"] == "fbnet-cifar10" and meta["device"] == "rpi3b"
    snapshot = load_config(run.config_path)
    assert len(snapshot.profile.hash) == 64 and snapshot.search.epochs == 3
    assert [p.name for p in sorted((reference_run / "theta").iterdir())] == ["epoch_001.txt", "epoch_002.txt", "epoch_003.txt"]
    arch = run.arch()
    assert arch is not None and len(arch["choices"]) == 22 and arch["predicted"]["latency_s"] > 0
    records = run.metrics()
    phases = {(r["kind"], r["phase"]) for r in records}
    assert {("interval", "warmup"), ("interval", "theta"), ("interval", "weights"), ("epoch", "eval")} <= phases
    keys = {"kind", "epoch", "step", "phase", "loss", "ce", "lat", "ener", "acc", "temperature", "lr", "images_per_s", "time"}
    assert all(keys <= set(r) for r in records)
    assert [r["epoch"] for r in run.metrics("epoch") if r["phase"] == "eval"] == [1, 2, 3]
    summary = summarize(run)
    assert summary.state == "done" and summary.pred_latency_s == arch["predicted"]["latency_s"]
    assert_readable(reference_run)


def test_same_seed_same_theta(reference_run: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, epochs=3, seed=3)
    result = run_cli("search", "--config", str(cfg), "--run-dir", str(tmp_path / "again"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again" / "theta.txt").read_text() == (reference_run / "theta.txt").read_text()


def test_kill_9_loses_at_most_the_epoch_and_resumes(reference_run: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, epochs=3, seed=3)
    run_dir = tmp_path / "killed"
    proc = start_cli("search", "--config", str(cfg), "--run-dir", str(run_dir))
    wait_for(lambda: (run_dir / "theta" / "epoch_001.txt").exists() and (run_dir / "checkpoint.pt").exists(), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert_readable(run_dir)
    assert summarize(Run(run_dir)).state in ("interrupted", "done")
    result = run_cli("search", "--config", str(run_dir / "config.toml"), "--run-dir", str(run_dir), "--resume")
    assert result.returncode == 0, result.stderr
    assert Run(run_dir).status()["state"] == "done"
    assert (run_dir / "theta.txt").read_text() == (reference_run / "theta.txt").read_text()


def test_sigterm_cancels_and_resume_finishes(reference_run: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, epochs=3, seed=3)
    run_dir = tmp_path / "cancelled"
    proc = start_cli("search", "--config", str(cfg), "--run-dir", str(run_dir))
    wait_for(lambda: (run_dir / "theta" / "epoch_001.txt").exists(), proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    status = Run(run_dir).status()
    assert status["state"] == "cancelled" and status["ended"] and "--resume" in status["error"]
    assert_readable(run_dir)
    refused = run_cli("search", "--config", str(run_dir / "config.toml"), "--run-dir", str(run_dir))
    assert refused.returncode == 2 and "--resume" in refused.stderr
    result = run_cli("search", "--run-dir", str(run_dir), "--resume")
    assert result.returncode == 0, result.stderr
    assert Run(run_dir).status()["state"] == "done"
    assert (run_dir / "theta.txt").read_text() == (reference_run / "theta.txt").read_text()
    again = run_cli("search", "--run-dir", str(run_dir), "--resume")
    assert again.returncode == 0 and "already done" in again.stderr


def test_queued_run_directory_from_the_dashboard_is_used(tmp_path: Path) -> None:
    run_dir = tmp_path / "queued"
    create_run_at(run_dir, "from-tui", extra={"knobs": {"alpha": 1.0}, "origin": "tui"})
    tiny_config(run_dir, epochs=1, name="config.toml")
    result = run_cli("search", "--config", str(run_dir / "config.toml"), "--run-dir", str(run_dir), "--set", "search.warmup_epochs=0")
    assert result.returncode == 0, result.stderr
    run = Run(run_dir)
    assert run.meta()["origin"] == "tui" and run.status()["state"] == "done"
    assert load_config(run.config_path).search.warmup_epochs == 0


def test_new_run_under_hanna_runs(isolated_runs_root: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, epochs=1, mode="mixture")
    result = run_cli("search", "--config", str(cfg), "--set", "search.warmup_epochs=0", "--set", 'knobs.form="multiplicative"')
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.splitlines()[0])
    assert run_dir.parent == isolated_runs_root
    assert Run(run_dir).meta()["mode"] == "mixture" and Run(run_dir).status()["state"] == "done"
    assert os.path.exists(run_dir / "arch.json")
    assert PROFILE.exists()


def test_failure_marks_the_run_failed(tmp_path: Path) -> None:
    from hanna_tui.commands.search import load_search_config
    from hanna_tui.nas.run import prepare
    from hanna_tui.nas.search import Search, execute

    class Args:
        demo, config, run_dir, resume, set = False, str(tiny_config(tmp_path, epochs=1)), None, False, []

    cfg, base = load_search_config(Args)
    prepared = prepare(cfg, base)
    run = create_run_at(tmp_path / "failing", "x")
    search = Search(cfg, run, prepared.profile, prepared.train, prepared.val, prepared.test, prepared.num_classes)

    def explode() -> None:
        raise RuntimeError("boom")

    search.run_all = explode  # type: ignore[method-assign]
    assert execute(search, resume=False) == 1
    status = run.status()
    assert status["state"] == "failed" and status["error"] == "RuntimeError: boom"
    assert "Traceback" in (run.path / "error.log").read_text()
    assert json.loads(run.status_path.read_text())["ended"]


def test_sigterm_right_after_start_is_a_clean_cancel(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, epochs=1)
    run_dir = tmp_path / "early"
    proc = start_cli("search", "--config", str(cfg), "--run-dir", str(run_dir))
    assert proc.stdout is not None and proc.stdout.readline().strip() == str(run_dir)
    assert Run(run_dir).status()["pid"] == proc.pid
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    assert Run(run_dir).status()["state"] == "cancelled"
    assert_readable(run_dir)
    result = run_cli("search", "--run-dir", str(run_dir), "--resume")
    assert result.returncode == 0, result.stderr
    assert Run(run_dir).status()["state"] == "done" and Run(run_dir).metrics("resume")


def test_killed_after_the_last_checkpoint_resumes_to_a_complete_status(tmp_path: Path) -> None:
    """kill -9 between the last checkpoint and its status write: --resume has nothing left to train
    but must still leave the status a finished run has (best accuracy included)."""
    cfg = tiny_config(tmp_path, epochs=1)
    run_dir = tmp_path / "late-kill"
    assert run_cli("search", "--config", str(cfg), "--run-dir", str(run_dir)).returncode == 0
    full = Run(run_dir).status()
    torn = {k: v for k, v in full.items() if k not in ("best_acc", "ended")}
    torn.update(state="running", phase="theta", pid=2**22 + 1)  # what the status said before the kill
    (run_dir / "status.json").write_text(json.dumps(torn))
    result = run_cli("search", "--run-dir", str(run_dir), "--resume")
    assert result.returncode == 0, result.stderr
    status = Run(run_dir).status()
    assert status["state"] == "done" and status["best_acc"] == full["best_acc"]
    assert summarize(Run(run_dir)).search_acc == full["best_acc"]
