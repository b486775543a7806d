"""bench/tui_latency.py --quick runs the real dashboard in a pseudo-terminal with the dashboard's own defaults.

Asserts that it completes and that every key press produced the vLAT readout of the knob math
(the bench waits for that exact text); never its timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hanna_tui.tui.presets import Preset

BENCH = Path(__file__).resolve().parent.parent / "bench" / "tui_latency.py"


def test_tui_latency_quick_mode_completes_with_the_dashboard_defaults(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMP_NUM_THREADS": "1", "HANNA_PRESETS": str(tmp_path / "presets")}
    out = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, out.stdout
    result = json.loads(lines[0])
    assert result["quick"] is True and result["presses"] == 10 and result["readouts_matched"] == 10
    assert result["defaults"] == Preset().knobs.to_dict()
    assert result["runs_on_disk"] == 40 and result["search_running"] is False
    for key in ("knob_p50_ms", "knob_p95_ms", "knob_max_ms", "history_open_s"):
        assert isinstance(result[key], (int, float)) and result[key] > 0
