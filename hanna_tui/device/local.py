"""The `local` target: the same interface as SSHTarget, running commands on this machine."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from ..fsutil import atomic_write_bytes
from .ssh import CommandResult, DeadlineExceeded, LineCallback, LineSplitter, RemoteDiskFull

STOP_GRACE_S = 3.0  # SIGTERM, then SIGKILL to what is left of the group


class LocalTarget:
    """Runs the agent as a child process; files go under a local cache directory.

    Each command runs in its own session (its own process group), so a signal meant for this process
    never reaches it by itself: cancel() ends the groups of the commands running now (SIGTERM, then
    SIGKILL), and of any command started after it (a cancelled target runs nothing more).
    """

    is_local = True
    label = "local"

    def __init__(self) -> None:
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.cancelled = False

    def connect(self) -> LocalTarget:
        return self

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalTarget:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def alive(self) -> bool:
        return True

    def run(self, command: str, deadline_s: float, stdin: bytes = b"", on_stderr_line: LineCallback | None = None) -> CommandResult:
        start = time.monotonic()
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        with self._lock:
            self._running.add(proc)
            cancelled = self.cancelled
        try:
            if cancelled:
                _stop_group(proc)
            return self._wait(proc, deadline_s, stdin, on_stderr_line, start)
        finally:
            with self._lock:
                self._running.discard(proc)

    def _wait(
        self,
        proc: subprocess.Popen,
        deadline_s: float,
        stdin: bytes,
        on_stderr_line: LineCallback | None,
        start: float,
    ) -> CommandResult:
        out, err = bytearray(), bytearray()
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, out, LineSplitter(None)), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, err, LineSplitter(on_stderr_line)), daemon=True),
        ]
        for reader in readers:
            reader.start()
        _feed(proc, stdin)
        try:
            proc.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise DeadlineExceeded(f"local: command ran past its deadline of {deadline_s:g} s") from None
        for reader in readers:
            reader.join(timeout=10)
        return CommandResult(proc.returncode, bytes(out), bytes(err), time.monotonic() - start)

    def cancel(self) -> None:
        """End the running commands' process groups (thread-safe; a stop of the agent from another thread)."""
        with self._lock:
            self.cancelled = True
            running = list(self._running)
        for proc in running:
            _stop_group(proc)

    def upload(self, data: bytes, path: str, mode: int = 0o644, deadline_s: float = 120) -> None:
        self.ensure_space(os.path.dirname(path) or ".", len(data))
        atomic_write_bytes(path, data)
        os.chmod(path, mode)

    def ensure_space(self, directory: str, size: int) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(directory).free
        if free < size + 64 * 1024:
            raise RemoteDiskFull(f"local: disk full: {free // 1024} KiB free in {directory}")

    def home(self) -> str:
        return str(Path.home())


def _feed(proc: subprocess.Popen, data: bytes) -> None:
    assert proc.stdin is not None
    try:
        if data:
            proc.stdin.write(data)
        proc.stdin.close()
    except BrokenPipeError:
        pass


def _pump(stream, sink: bytearray, lines: LineSplitter) -> None:
    for chunk in iter(lambda: stream.read1(65536), b""):
        sink += chunk
        lines.feed(chunk)


def _stop_group(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM to the command's process group, SIGKILL to whatever of it is left after grace_s.

    Only polls the process (run() of another thread may be waiting on it): never reaps it itself.
    """
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + grace_s
    while proc.returncode is None and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.02)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, or the leader itself
    except ProcessLookupError:
        pass


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
