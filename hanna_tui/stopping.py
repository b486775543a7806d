"""SIGTERM/SIGINT as a flag a long job checks between steps, and the exception it raises then.

Torch-free, so a command that does not need torch (profile, deploy) installs it before anything
slow is imported; hanna_tui.runtime re-exports both for the search and the trainer.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Cancelled(Exception):
    """SIGTERM or SIGINT arrived; the loop stopped at a batch boundary."""


class StopFlag:
    """Turns SIGTERM/SIGINT into a flag the loop checks between batches (one per process)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        if self._old:
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal = signum

    @property
    def reason(self) -> str:
        """Why the stop was asked for: the signal's name (SIGTERM), or what request() was given; else ''."""
        if self.signal is None:
            return ""
        return getattr(self, "_why", "") or signal.Signals(self.signal).name

    def request(self, why: str) -> None:
        """Ask for a stop from code (a time limit, say), as a SIGTERM would."""
        self._why = why
        self.signal = signal.SIGTERM

    def __bool__(self) -> bool:
        return self.signal is not None

    def check(self) -> None:
        if self.signal is not None:
            raise Cancelled(self.reason)

    @contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Installed for the block (signal handlers exist only in the main thread; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        self.install()
        try:
            yield self
        finally:
            self.restore()
