"""Headless batch mode: `hanna-tui --batch CONFIG.toml` (search -> sample -> train -> deploy, sweeps).

Imports nothing of the dashboard (no textual); torch only runs in the step subprocesses.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import UserError


def run_batch_cli(path: str, **options: Any) -> int:
    """Entry point used by cli.main; a UserError is also reported as JSON on stdout, then re-raised."""
    from .runner import run_batch

    try:
        return run_batch(path, **options)  # executor, address, concurrency, sets, only: see runner.run_batch
    except UserError as exc:
        sys.stdout.write(
            json.dumps(
                {
                    "config": path,
                    "state": "unreachable" if exc.exit_code == 3 else "bad input",
                    "error": str(exc),
                    "exit_code": exc.exit_code,
                }
            )
            + "\n"
        )
        sys.stdout.flush()
        raise


__all__ = ["run_batch_cli"]
