"""The agent's self-contained blocks are the same as hanna_tui/space/blocks.py; its statistics and jobs."""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys

import pytest
import torch

from hanna_tui.device import agent
from hanna_tui.device.runner import AGENT_FILE, space_job
from hanna_tui.space import get_space
from hanna_tui.space.blocks import build_head, build_layer_block, build_stem


def structure(module: torch.nn.Module) -> list[tuple]:
    mods = [
        (name, type(m).__name__, getattr(m, "groups", None), getattr(m, "stride", None), getattr(m, "padding", None))
        for name, m in module.named_modules()
    ]
    params = [(name, tuple(p.shape)) for name, p in module.state_dict().items()]
    return mods + params


@pytest.mark.parametrize("name,width", [("fbnet-cifar10", 1.0), ("fbnet-cifar10", 0.25), ("fbnet-imagenet", 1.0)])
def test_agent_blocks_match_core_blocks(name, width):
    space = get_space(name, width)
    job = space_job(space)
    for layer in space.layers:
        for cand in layer.allowed:
            core = build_layer_block(space, layer.index, cand)
            mine = agent.build_block(job["space"], job["candidates"], layer.index, cand)
            assert structure(mine) == structure(core), (layer.index, cand)
            assert getattr(mine, "residual", None) == getattr(core, "residual", None)
    assert structure(agent.build_extra(job["space"], "stem")) == structure(build_stem(space))
    assert structure(agent.build_extra(job["space"], "head")) == structure(build_head(space))


def test_agent_block_computes_the_same_function():
    space = get_space("fbnet-cifar10", 0.25)
    job = space_job(space)
    torch.manual_seed(0)
    for layer_index, cand in [(0, 1), (3, 6), (6, 8), (21, 5)]:
        core = build_layer_block(space, layer_index, cand).eval()
        mine = agent.build_block(job["space"], job["candidates"], layer_index, cand).eval()
        mine.load_state_dict(core.state_dict())
        x = torch.randn(agent.block_input_shape(job["space"], 2, layer_index))
        with torch.no_grad():
            assert torch.allclose(core(x), mine(x))


def test_summary_statistics():
    stats = agent.summarize_times([float(v) for v in range(1, 101)])
    assert stats["n"] == 100 and stats["min"] == 1 and stats["mean"] == 50.5
    assert stats["p50"] == pytest.approx(50.5) and stats["p90"] == pytest.approx(90.1) and stats["p99"] == pytest.approx(99.01)
    assert stats["std"] == pytest.approx(math.sqrt(sum((v - 50.5) ** 2 for v in range(1, 101)) / 99))


def run_agent(job: dict) -> dict:
    out = subprocess.run([sys.executable, str(AGENT_FILE)], input=json.dumps(job), capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_agent_blocks_job_reports_board_and_stats(tmp_path):
    space = get_space("fbnet-cifar10", 0.25)
    bench = {"warmup_runs": 1, "warmup_s": 0, "min_runs": 7, "min_s": 0, "max_s": 1}
    job = {"mode": "blocks", **space_job(space), "cells": [[2, 8], [5, 3]], "extras": ["head"], "bench": bench}
    doc = run_agent(job)
    assert doc["ok"] and doc["board"]["python"] and doc["board"]["torch"] == torch.__version__
    assert doc["board"]["threads"] == 1 and "model" in doc["board"]
    assert [b["key"] for b in doc["blocks"]] == ["head", [2, 8], [5, 3]]
    assert doc["bench"]["rounds"] == 8  # the default
    for block in doc["blocks"]:
        wall, lat, rounds = block["wall"], block["latency"], block["rounds"]
        assert block["cpu"]["n"] == wall["n"] == lat["n"] >= 8 * 3  # at least 3 timed runs a round
        assert len(rounds) == 8 and len(block["halves"]) == 2
        # each statistic: the median over the rounds of that round's; the pooled spread kept as is
        for key in ("p50", "min", "mean"):
            assert lat[key] == pytest.approx(agent.percentile(sorted(r[key] for r in rounds), 0.5))
            assert block["halves"][0][key] == pytest.approx(agent.percentile(sorted(r[key] for r in rounds[0::2]), 0.5))
        assert lat == wall  # the default clock; cpu is summarised the same way
        assert 0 < lat["min"] <= lat["p50"] and lat["p90"] <= lat["p99"] <= lat["max"]
        halves = block["halves"]
        assert block["repeatability"]["min"] == pytest.approx(
            abs(halves[0]["min"] - halves[1]["min"]) / ((halves[0]["min"] + halves[1]["min"]) / 2)
        )
    assert "thermal_before" in doc and "thermal_after" in doc


def test_agent_reports_bad_jobs_as_json():
    doc = run_agent({"mode": "nonsense"})
    assert doc["ok"] is False and "nonsense" in doc["error"]


def test_agent_imports_only_stdlib_and_torch():
    tree = ast.parse(AGENT_FILE.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    assert names - {"torch"} <= set(sys.stdlib_module_names), names


def test_probe_reads_the_board_as_a_job_does(tmp_path):
    """The probe's board comes from the energy spec's sysfs root, so deploy can find the board's profile before measuring."""
    (tmp_path / "proc" / "device-tree").mkdir(parents=True)
    (tmp_path / "proc" / "device-tree" / "model").write_text("Raspberry Pi 3 Model B Rev 1.2\x00")
    doc = run_agent({"mode": "probe", "workdir": str(tmp_path), "energy": {"source": "none", "sysfs_root": str(tmp_path)}})
    assert doc["board"]["model"] == "Raspberry Pi 3 Model B Rev 1.2" == agent.board_info(str(tmp_path))["model"]
    assert run_agent({"mode": "probe", "workdir": str(tmp_path)})["board"] == agent.board_info()  # no energy spec: the real root
