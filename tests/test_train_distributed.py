"""Training a childnet and a baseline across two processes (torchrun, gloo on CPU)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_train_loop import TINY, search_run

from hanna_tui.store import Run, list_runs

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "hanna_tui"]
DATA = ["--data", "synthetic", "--subset", "64", "--test-subset", "32"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def test_two_rank_training_writes_one_run_with_identical_weights(isolated_runs_root: Path) -> None:
    run = search_run(isolated_runs_root)
    done = subprocess.run(
        [*TORCHRUN, "train", str(run.path), *DATA, "--epochs", "2", *TINY], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = Run(run.path / "train")
    assert out.status()["state"] == "done"
    assert [r["epoch"] for r in out.metrics("epoch")] == [1, 2]  # rank 0 alone writes
    assert (out.path / "model.pt").is_file()
    assert "weights differ" not in done.stderr  # the trainer checks the ranks agree after every epoch
    assert done.stdout.count("done:") == 1


def test_two_rank_baseline_is_one_run(isolated_runs_root: Path) -> None:
    done = subprocess.run(
        [*TORCHRUN, "baseline", "mobilenetv2", *DATA, "--epochs", "1", *TINY], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    runs = list_runs(isolated_runs_root)
    assert [r.kind for r in runs] == ["baseline"]
    assert runs[0].state == "done" and runs[0].top1 is not None
