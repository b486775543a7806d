"""One search across two processes (torchrun, gloo on CPU): theta stays identical on every rank;
and a search writes TensorBoard events with its metrics and theta images."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from search_support import cli_env, tiny_config

from hanna_tui.store import Run, event_scalars


def test_two_rank_search_keeps_theta_identical(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, epochs=3, mode="mixture")
    run_dir = tmp_path / "ddp-run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "hanna_tui", "search", "--config", str(config), "--run-dir", str(run_dir)]
    done = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    run = Run(run_dir)
    assert run.status()["state"] == "done"
    assert run.status()["world_size"] == 2
    rank0 = (run_dir / "theta" / "rank_0.txt").read_text()
    rank1 = (run_dir / "theta" / "rank_1.txt").read_text()
    assert rank0 == rank1 == run.theta_path.read_text()
    uniform = (run_dir / "theta" / "epoch_001.txt").read_text()
    assert rank0 != uniform, "theta never moved: the test would not show that the ranks agree"
    assert done.stdout.splitlines()[0] == str(run_dir)  # only rank 0 announces the run


def test_search_writes_tensorboard_events(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = tiny_config(tmp_path, epochs=2)
    run_dir = tmp_path / "tb-run"
    cmd = [sys.executable, "-m", "hanna_tui", "search", "--config", str(config), "--run-dir", str(run_dir)]
    done = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert "epoch/eval/acc" in tags["scalars"]
    assert "interval/warmup/loss" in tags["scalars"]
    assert "epoch/theta/lat" in tags["scalars"]
    assert [e.step for e in events.Images("theta")] == [1, 2]
    accs = [r["acc"] for r in Run(run_dir).metrics("epoch") if r.get("phase") == "eval"]
    assert [round(e.value, 6) for e in events.Scalars("epoch/eval/acc")] == [round(a, 6) for a in accs]


def test_event_tags_name_kind_phase_and_metric() -> None:
    record = {"kind": "interval", "phase": "theta", "step": 7, "epoch": 2, "time": 1.0, "loss": 2.5, "lat": 3.1, "note": "x", "flag": True}
    assert event_scalars(record) == {"interval/theta/loss": 2.5, "interval/theta/lat": 3.1}
