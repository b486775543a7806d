"""Open a target (SSH or local), install the agent once (cached by hash), probe the board, run jobs.

A session given a stop flag (runtime.StopFlag: SIGTERM/SIGINT turned into a flag) watches it while
the agent runs: once it is set, the agent is ended where it runs -- its process group on the local
target; over SSH the agent process itself (its pid comes first on its stderr), killed by a second
command on the same connection, else the connection is closed -- and the job raises
runtime.Cancelled. Nothing of the agent goes on measuring after a stop.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from ..errors import TargetUnreachable, UserError
from .agent import EVENT_PREFIX
from .agent import INSTALL as RUNTIME_INSTALL
from .agent import NEEDS as RUNTIME_NEEDS
from .local import LocalTarget
from .ssh import CommandResult, DeadlineExceeded, LineCallback, SSHTarget, parse_target

AGENT_FILE = Path(__file__).with_name("agent.py")
REMOTE_CACHE = ".cache/hanna-tui"
SIGILL_RCS = (132, -4)
PID_PREFIX = "@hanna-pid "  # the agent's pid, the first line of its stderr (the shell says it, then execs the agent)
STOP_POLL_S = 0.05  # how often a running job looks at the stop flag
PID_WAIT_S = 2.0  # how long a stop waits for the remote agent's pid before closing the connection instead


class Target(Protocol):
    label: str
    is_local: bool

    def run(self, command: str, deadline_s: float, stdin: bytes = b"", on_stderr_line: LineCallback | None = None) -> CommandResult: ...

    def upload(self, data: bytes, path: str, mode: int = 0o644, deadline_s: float = 120) -> None: ...

    def home(self) -> str: ...

    def close(self) -> None: ...


def agent_source() -> bytes:
    return AGENT_FILE.read_bytes()


def agent_hash() -> str:
    return hashlib.sha256(agent_source()).hexdigest()


def open_target(text: str, trust_new_host: bool = False, known_hosts: str = "") -> Target:
    """'local' or an SSH target, connected."""
    if text == "local":
        return LocalTarget()
    return SSHTarget(parse_target(text, known_hosts), trust_new_host).connect()


def default_python(target: Target, remote_python: str | None) -> str:
    if remote_python:
        return remote_python
    return sys.executable if target.is_local else "python3"


class AgentSession:
    """The agent installed on one target, run with that target's python."""

    def __init__(self, target: Target, remote_python: str | None = None, workdir: str | None = None, stop: Any = None) -> None:
        """stop: a runtime.StopFlag (anything with .signal and .check()); once set, the running agent is ended."""
        self.target = target
        self.stop = stop
        self.agent_pid: int | None = None  # of the agent running now, as it said
        self.python = default_python(target, remote_python)
        self.workdir = workdir or f"{target.home().rstrip('/')}/{REMOTE_CACHE}"
        self.hash = agent_hash()
        self.agent_path = f"{self.workdir}/agent-{self.hash[:16]}.py"
        self.probe_info: dict[str, Any] = {}

    @property
    def label(self) -> str:
        return self.target.label

    def ensure_agent(self) -> bool:
        """Upload the agent unless this exact version is already there; True when uploaded."""
        q = shlex.quote(self.agent_path)
        check = self.target.run(f"mkdir -p {shlex.quote(self.workdir)} && (sha256sum {q} 2>/dev/null || shasum -a 256 {q} 2>/dev/null)", 60)
        if check.rc == 0 and check.text().split()[:1] == [self.hash]:
            return False
        self.target.upload(agent_source(), self.agent_path, 0o755)
        return True

    def command(self) -> str:
        # $$ of the shell that then execs the agent: the agent's own pid on the target
        return (
            f"cd {shlex.quote(self.workdir)} && echo {shlex.quote(PID_PREFIX)}$$ >&2 && "
            f"exec {shlex.quote(self.python)} {shlex.quote(self.agent_path)}"
        )

    def probe(self, runtime: str = "torch", energy: dict[str, Any] | None = None) -> dict[str, Any]:
        """Python, installed runtimes, CPU architecture, free space and the board (read with the energy
        spec's sysfs root, as the measurement will) on the target; raises a clear error if unusable."""
        doc, res = self._run({"mode": "probe", "workdir": self.workdir, "energy": energy or {"source": "none"}}, 120, None)
        installed = doc.get("installed") or {"torch": doc.get("torch")}
        missing = [name for name in RUNTIME_NEEDS.get(runtime, ()) if installed.get(name) is None]
        if missing:
            raise UserError(
                f"{self.label}: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed for {self.python} on the target (runtime {runtime}); "
                f"install it there ({RUNTIME_INSTALL[runtime]}) or point --remote-python at a python that has it"
            )
        self.probe_info = doc
        return doc

    def run_job(self, job: dict[str, Any], deadline_s: float, on_event: Callable[[dict], None] | None = None) -> dict[str, Any]:
        job = {**job, "deadline_s": deadline_s}
        doc, res = self._run(job, deadline_s + 30, on_event)
        return doc

    def check_stop(self) -> None:
        """Raise runtime.Cancelled when a stop was asked for."""
        if self.stop is not None:
            self.stop.check()

    def _run(self, job: dict[str, Any], deadline_s: float, on_event: Callable[[dict], None] | None) -> tuple[dict, CommandResult]:
        self.check_stop()
        stderr_tail: list[str] = []
        self.agent_pid = None

        def on_line(line: str) -> None:
            if line.startswith(PID_PREFIX):
                value = line[len(PID_PREFIX) :].strip()
                self.agent_pid = int(value) if value.isdigit() else None
            elif line.startswith(EVENT_PREFIX):
                if on_event:
                    try:
                        on_event(json.loads(line[len(EVENT_PREFIX) :]))
                    except json.JSONDecodeError:
                        pass
            elif line.strip():
                stderr_tail[:] = (stderr_tail + [line.strip()])[-5:]

        try:
            with self._stopper():
                res = self.target.run(self.command(), deadline_s, json.dumps(job).encode(), on_stderr_line=on_line)
        except TargetUnreachable:
            self.check_stop()  # the connection closed by a stop: cancelled, not unreachable
            raise
        finally:
            self.agent_pid = None
        self.check_stop()  # an agent ended by a stop: cancelled, whatever it printed
        doc = _last_json(res.text())
        if res.rc == 0 and doc.get("ok"):
            return doc, res
        raise self._failure(res, doc, stderr_tail)

    @contextlib.contextmanager
    def _stopper(self):
        """While the agent runs: a thread that ends it once the stop flag is set."""
        if self.stop is None:
            yield
            return
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(done,), name="agent-stop", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join(timeout=30)

    def _watch(self, done: threading.Event) -> None:
        while not done.wait(STOP_POLL_S):
            if self.stop.signal is not None:
                self._end_agent(done)
                return

    def _end_agent(self, done: threading.Event) -> None:
        cancel = getattr(self.target, "cancel", None)
        if callable(cancel):  # the local target: SIGTERM, then SIGKILL, to the agent's process group
            cancel()
            return
        end = time.monotonic() + PID_WAIT_S
        while self.agent_pid is None and not done.is_set() and time.monotonic() < end:
            time.sleep(0.02)
        if done.is_set():
            return
        pid = self.agent_pid
        if pid is not None:
            try:  # a second channel of the same connection; the agent's channel then ends with its exit
                self.target.run(kill_command(pid), 15)
                return
            except (TargetUnreachable, OSError, EOFError):
                pass
        # no pid, or the kill failed: close the connection; the agent's next write fails, `timeout` ends the rest
        self.target.close()

    def _failure(self, res: CommandResult, doc: dict, tail: list[str]) -> UserError:
        err = "\n".join(line for line in res.err_text().splitlines() if not line.startswith(PID_PREFIX))
        last = tail[-1] if tail else err.strip()[-200:]
        machine = self.probe_info.get("machine", "this board")
        if res.rc in SIGILL_RCS or "Exec format error" in res.err_text() or "cannot execute binary" in res.err_text():
            return UserError(
                f"{self.label}: wrong CPU architecture: {self.python} or its torch cannot run on {machine} ({last or 'illegal instruction'})"
            )
        if res.rc == 127:
            return UserError(f"{self.label}: {self.python} not found on the target (install python3 or pass --remote-python)")
        error = str(doc.get("error", ""))
        if "No space left" in error or "No space left" in res.err_text():
            return UserError(f"{self.label}: disk full on the target ({error or last})")
        if doc.get("kind") == "import":
            return UserError(f"{self.label}: {error or last}")
        if "No module named 'torch'" in res.err_text():
            return UserError(f"{self.label}: torch is not installed for {self.python} on the target ({last})")
        if doc.get("kind") == "TimeoutError":
            return DeadlineExceeded(f"{self.label}: agent ran past its deadline ({error})")
        return UserError(f"{self.label}: agent failed (exit {res.rc}): {error or last or 'no output'}")


def kill_command(pid: int, grace_s: int = 3) -> str:
    """SIGTERM to a process on the target, SIGKILL when it is still there after grace_s seconds (POSIX sh)."""
    return (
        f"kill -TERM {pid} 2>/dev/null || exit 0; i=0; "
        f"while kill -0 {pid} 2>/dev/null && [ $i -lt {grace_s * 10} ]; do sleep 0.1 2>/dev/null || {{ sleep 1; i=$((i+9)); }}; i=$((i+1)); done; "
        f"kill -0 {pid} 2>/dev/null && kill -KILL {pid} 2>/dev/null; exit 0"
    )


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return {}


def space_job(space: Any) -> dict[str, Any]:
    """A SearchSpace as the plain JSON the agent builds its blocks from."""
    from ..space import CANDIDATES

    return {
        "space": {
            "name": space.name,
            "input_size": space.input_size,
            "stem_channels": space.stem_channels,
            "stem_stride": space.stem_stride,
            "head_channels": space.head_channels,
            "num_classes": space.num_classes,
            "width_mult": space.width_mult,
            "layers": [
                {
                    "index": layer.index,
                    "c_in": layer.c_in,
                    "c_out": layer.c_out,
                    "stride": layer.stride,
                    "input_hw": layer.input_hw,
                    "output_hw": layer.output_hw,
                    "allowed": list(layer.allowed),
                }
                for layer in space.layers
            ],
        },
        "candidates": [asdict(c) for c in CANDIDATES],
    }
