"""SIGTERM stops `hanna-tui profile` and `hanna-tui deploy` cleanly, as the dashboard's stop does.

The command is a process of its own (its own process group, signalled as launch.stop_group does);
after the signal: exit 130, one "cancelled by SIGTERM (...)" line, no agent process left (the local
agent runs in a session of its own, the remote one behind SSH), no temp file, no result; a stopped
profile keeps its partial state and the same command resumes from it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_device_e2e import make_run  # noqa: E402 - tests/device is on sys.path (no package)

from hanna_tui.device.profiler import all_keys, partial_path
from hanna_tui.space import get_space

REPO = Path(__file__).resolve().parents[2]
# many repeats: 0.25 s a block over its interleaved rounds, minutes for the whole table
LONG = ["--warmup-runs", "0", "--warmup-time", "0", "--min-runs", "1", "--min-time", "0.25", "--max-time", "5", "--jit", "eager"]
# a deploy whose measurement lasts a minute
SLOW = ["--warmup-runs", "0", "--warmup-time", "0", "--min-runs", "1", "--min-time", "60", "--max-time", "60", "--jit", "eager"]
STOP_S = 15  # a stopped command is gone within this (the agent gets SIGTERM, SIGKILL after 3 s)


class Command:
    """`python -m hanna_tui ...` in its own session, its stderr read line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hanna_tui", *args],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._queue.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, check, timeout: float = 180) -> str:
        """The first stderr line that passes check (earlier lines are kept in self.lines)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if check(line):
                return line
        raise AssertionError(f"no such line (exit {self.proc.poll()}):\n" + "\n".join(self.lines))

    def stop(self) -> tuple[int, float]:
        """SIGTERM to the command's process group (launch.stop_group); its exit code and how long it took."""
        start = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_S + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self._reader.join(timeout=10)
        while True:
            line = self._queue.get_nowait() if not self._queue.empty() else None
            if line is None:
                break
            self.lines.append(line)
        return rc, time.monotonic() - start

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def agent_processes(agent_dir: Path) -> list[str]:
    """Live processes whose command line names a file in the agent's working folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if str(agent_dir) in cmdline and "agent-" in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def agents_gone(agent_dir: Path, timeout: float = 5.0) -> list[str]:
    """The agent processes still there after timeout (a shell wrapping the remote agent may take a moment)."""
    end = time.monotonic() + timeout
    while (left := agent_processes(agent_dir)) and time.monotonic() < end:
        time.sleep(0.05)
    return left


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": str(temp), **extra}


@pytest.fixture
def command_procs():
    started: list[Command] = []
    yield started
    for command in started:
        command.kill()


def assert_stopped_cleanly(command: Command, rc: int, took: float, agent_dir: Path, tmp_path: Path) -> str:
    assert rc == 130, "\n".join(command.lines)
    cancel = [line for line in command.lines if "cancelled by SIGTERM (" in line]
    assert len(cancel) == 1 and cancel[0].startswith("hanna-tui: cancelled by SIGTERM ("), "\n".join(command.lines)
    assert not [line for line in command.lines if "Traceback" in line or "internal error" in line]
    assert took < STOP_S, f"took {took:.1f} s to stop"
    assert agents_gone(agent_dir) == []  # nothing measures on after the stop
    assert list((tmp_path / "tmp").iterdir()) == []  # the export's / archive's temp folders are gone
    return cancel[0]


def test_sigterm_stops_a_local_profile_and_the_same_command_resumes(tmp_path, command_procs):
    out = tmp_path / "profiles" / "long.toml"
    agent_dir = tmp_path / "agent"
    args = ["profile", "--target", "local", "--remote-dir", str(agent_dir), "--width-mult", "0.25", "--out", str(out), *LONG]
    args += ["--calib-networks", "0"]
    total = len(all_keys(get_space("fbnet-cifar10", 0.25)))

    command = Command(args, env_for(tmp_path))
    command_procs.append(command)
    command.wait_for(lambda line: line.startswith("profile: ["))
    assert agent_processes(agent_dir)  # measuring: the agent runs (in a session of its own)
    rc, took = command.stop()
    line = assert_stopped_cleanly(command, rc, took, agent_dir, tmp_path)
    assert not out.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["long.toml.partial.json"]  # the resume, nothing else
    kept = len(json.loads(partial_path(out).read_text())["records"])
    assert 1 <= kept < total
    assert f"{kept}/{total} blocks kept in {partial_path(out)}" in line and "resumes" in line

    # the same command again: it measures only what is missing, from the next block on
    again = Command(args, env_for(tmp_path))
    command_procs.append(again)
    first = again.wait_for(lambda line: line.startswith("profile: ["))
    assert first.startswith(f"profile: [{kept + 1:4d}/{total}]"), first
    rc, took = again.stop()
    assert_stopped_cleanly(again, rc, took, agent_dir, tmp_path)
    assert len(json.loads(partial_path(out).read_text())["records"]) > kept
    assert not out.exists()


def test_sigterm_stops_a_local_deploy_while_it_measures(tmp_path, command_procs):
    run = make_run(tmp_path / "runs")
    agent_dir = tmp_path / "agent"
    args = ["deploy", str(run.path), "--target", "local", "--remote-dir", str(agent_dir), *SLOW]
    command = Command(args, env_for(tmp_path, HANNA_PROFILES=str(tmp_path / "no-profiles")))
    command_procs.append(command)
    command.wait_for(lambda line: line == "deploy: measuring")
    end = time.monotonic() + 60
    while not agent_processes(agent_dir) and time.monotonic() < end:  # the model job has started
        time.sleep(0.1)
    assert agent_processes(agent_dir)
    rc, took = command.stop()
    line = assert_stopped_cleanly(command, rc, took, agent_dir, tmp_path)
    assert "nothing saved" in line
    assert not (run.path / "deploy").exists() or not list((run.path / "deploy").glob("*.json"))
    assert run.holder() is None  # the run's deploy lock went with it


def test_sigterm_stops_a_profile_over_ssh_and_its_remote_agent(ssh_env, tmp_path, command_procs):
    out = tmp_path / "profiles" / "board.toml"
    agent_dir = tmp_path / "remote-agent"  # the 'board' is this machine: its processes are visible here
    args = ["profile", "--target", "board", "--remote-python", sys.executable, "--remote-dir", str(agent_dir)]
    args += ["--width-mult", "0.25", "--out", str(out), *LONG, "--calib-networks", "0"]
    command = Command(args, env_for(tmp_path, HANNA_SSH_CONFIG=str(ssh_env.config)))
    command_procs.append(command)
    command.wait_for(lambda line: line.startswith("profile: ["))
    assert agent_processes(agent_dir)
    rc, took = command.stop()
    assert_stopped_cleanly(command, rc, took, agent_dir, tmp_path)
    assert not out.exists() and partial_path(out).exists()
