"""Shared helpers of the TUI tests (not a test module)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
PROFILES = REPO / "profiles"


class FakeSpawn:
    """Records the commands the dashboard would start instead of starting them."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], Path]] = []

    def __call__(self, cmd, log_path: Path) -> Any:
        self.calls.append((list(cmd), Path(log_path)))
        return None


def plain(renderable: Any, width: int = 200) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def sync(fn):
    """Run an async test with asyncio.run (no pytest async plugin needed)."""
    import asyncio
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper
