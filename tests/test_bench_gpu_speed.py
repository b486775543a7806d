"""bench/gpu_speed.py --quick on a tiny ImageFolder tree: completes, one JSON line, consistent numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_datacache import write_tree

from hanna_tui.cost import CostModel
from hanna_tui.profiles import load_profile
from hanna_tui.space import candidate_index, get_space

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))


def test_budget_arch_stays_under_hannas_latency() -> None:
    from gpu_speed import HANNA_LATENCY_S, budget_arch

    arch = budget_arch(1.0)
    space = get_space("fbnet-cifar10", 1.0)
    cost = CostModel(load_profile(REPO / "profiles" / "rpi3b-hanna.toml"), space).arch_cost([candidate_index(n) for n in arch["choices"]])
    assert cost.latency_s == pytest.approx(arch["predicted"]["latency_s"]) and cost.latency_s <= HANNA_LATENCY_S
    assert cost.latency_s > 0.95 * HANNA_LATENCY_S  # it uses the budget, not just the cheapest blocks
    assert all(candidate_index(n) in layer.allowed for n, layer in zip(arch["choices"], space.layers, strict=True))


def test_quick_mode_prints_one_consistent_json_line(tmp_path: Path) -> None:
    write_tree(tmp_path / "tree", train_per=12, test_per=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        str(REPO / "bench" / "gpu_speed.py"),
        "--data-root",
        str(tmp_path / "tree"),
        "--device",
        "cpu",
        "--quick",
        "--threads",
        "1",
        "--full",
        "--models",
        "childnet",
        "--runs",
        str(tmp_path / "runs"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out["bench"] == "gpu_speed" and out["device"] == "cpu" and out["quick"] is True
    loader = out["loader"]
    assert out["loader_speedup"] == loader["loader_speedup"] > 0 and loader["train_images"] == 36
    assert loader["loader_speedup"] == pytest.approx(loader["cache_batches_per_s"] / loader["dataloader_batches_per_s"], rel=0.01)
    for mode in ("mixture", "sampled"):
        s = out["search"][mode]
        steps = s["theta_s_per_step"] * s["theta_steps_per_epoch"] + s["weights_s_per_step"] * s["weights_steps_per_epoch"]
        assert s["epoch_s"] == pytest.approx(steps + s["eval_s"], rel=0.01, abs=0.002)
        assert (s["theta_steps_per_epoch"], s["weights_steps_per_epoch"]) == (1, 4)  # 7 held-out images, 29 in batches of 8
        # both printed rounded (minutes to 0.01, seconds to 0.001): up to 0.005 + 90 * 0.0005 / 60 apart
        assert s["epochs_90_min"] == pytest.approx(90 * s["epoch_s"] / 60, rel=0.01, abs=0.006)
        assert s["images_per_s"] == pytest.approx(36 / s["epoch_s"], rel=0.01)
    train = out["train"]
    assert train["epoch_s"] == pytest.approx(36 / train["images_per_s"], rel=0.01) and train["pred_latency_s"] <= 2.71
    child = out["full"]["childnet"]
    assert child["state"] == "done" and child["epochs"] == child["total_epochs"] == 1 and 0 <= child["top1"] <= 1
    assert child["params"] == train["params"] > 0 and child["pred_latency_s"] == train["pred_latency_s"]
