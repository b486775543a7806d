"""bench/lut_fidelity.py in quick mode (one runtime, one busy neighbour): it completes and its numbers are consistent (never timings)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")


def test_lut_fidelity_quick(repo_root):
    res = subprocess.run(
        [sys.executable, str(repo_root / "bench" / "lut_fidelity.py"), "--quick", "--runtimes", "onnxruntime", "--neighbours", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=repo_root,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    ort = doc["runtimes"]["onnxruntime"]
    assert doc["archs"] == 8 and ort["calibration_networks"] == 4
    assert 0 < ort["measured_ms"]["min"] <= ort["measured_ms"]["max"]
    speed = ort["speed_factor"]
    assert 0 < speed["min"] <= speed["median"] <= speed["max"]
    for key in ("plain_sum", "linear_calibration", "calibrated_as_profiled", "calibrated"):
        s = ort[key]
        assert 0 <= s["within_10pct"] <= 1 and -1 <= s["spearman"] <= 1 and s["mape_pct"] >= 0
    rep = ort["repeatability"]
    assert 0 <= rep["median_round_diff"] <= rep["max_round_diff"] and -1 <= rep["even_vs_odd_rounds"]["spearman"] <= 1
    assert doc["goal_met"]["onnxruntime"] in (True, False)
    busy = doc["neighbours"]  # the CPU-bound neighbour ran beside the whole bench
    assert busy["count"] == 1 and 0 < busy["cpu_s"] and 0 < busy["wall_s"]
