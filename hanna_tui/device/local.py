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


class LocalTarget:
    """Runs the agent as a child process; files go under a local cache directory."""

    is_local = True
    label = "local"

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

    def run(
        self,
        command: str,
        deadline_s: float,
        stdin: bytes = b"",
        on_stderr_line: LineCallback | None = None,
        on_stdout_line: LineCallback | None = None,
    ) -> CommandResult:
        start = time.monotonic()
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        out, err = bytearray(), bytearray()
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, out, LineSplitter(on_stdout_line)), daemon=True),
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


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
