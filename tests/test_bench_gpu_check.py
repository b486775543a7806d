"""bench/gpu_check.sh, the prepared GPU script, rehearsed on this CPU (QUICK=1): every part ends
with its JSON line and the summary gathers them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_datacache import write_tree

REPO = Path(__file__).resolve().parent.parent


def test_quick_rehearsal_writes_every_part(tmp_path: Path) -> None:
    write_tree(tmp_path / "tree", train_per=12, test_per=4)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHON": sys.executable, "DEVICE": "cpu", "QUICK": "1"}
    env |= {"DATA": str(tmp_path / "tree"), "OUT": str(out)}
    done = subprocess.run(["bash", str(REPO / "bench" / "gpu_check.sh")], capture_output=True, text=True, env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary == json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["environment"]["device"] == "cpu"
    speed = summary["speed"]
    assert speed["bench"] == "gpu_speed" and speed["loader_speedup"] > 0
    assert set(speed["search"]) == {"mixture", "sampled"} and speed["train"]["images_per_s"] > 0
    for model in ("childnet", "mobilenetv2"):
        part = summary[model]
        assert "search" not in part and "loader" not in part  # only the training of this part ran
        trained = part["full"][model]
        assert trained["state"] == "done" and 0 <= trained["top1"] <= 1, trained
    assert summary["childnet"]["full"]["childnet"]["pred_latency_s"] <= 2.71
    assert "gpu_check: mobilenetv2 exit 0" in done.stderr
