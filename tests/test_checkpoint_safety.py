"""A booby-trapped checkpoint in a run directory is refused in one line and never executed."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import torch
from search_support import run_cli, tiny_config


class Payload:
    """Pickles as a call to os.system: what an attacker plants in a shared runs folder."""

    def __init__(self, marker: Path) -> None:
        self.command = f"touch {marker}"

    def __reduce__(self):
        return (os.system, (self.command,))


def plant(path: Path, marker: Path) -> None:
    buffer = io.BytesIO()
    torch.save({"version": 1, "model": Payload(marker)}, buffer)
    path.write_bytes(buffer.getvalue())


def test_booby_trapped_checkpoint_is_refused_on_resume(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, epochs=2)
    run_dir = tmp_path / "run"
    first = run_cli("search", "--config", str(cfg), "--run-dir", str(run_dir), "--set", "search.epochs=1")
    assert first.returncode == 0, first.stderr
    status = json.loads((run_dir / "status.json").read_text())
    status["state"] = "cancelled"  # a planted folder looks like any interrupted run
    (run_dir / "status.json").write_text(json.dumps(status))
    marker = tmp_path / "pwned"
    plant(run_dir / "checkpoint.pt", marker)
    result = run_cli("search", "--run-dir", str(run_dir), "--resume", "--set", "search.epochs=2")
    assert not marker.exists(), "the checkpoint's payload ran"
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "checkpoint.pt" in lines[0] and "Traceback" not in result.stderr
