"""Dashboard latency: keypress-to-repaint on the knobs screen while a search runs, and history opening time.

Prints one JSON line (--plain-worker: the background search as an ordinary process, for comparison; --no-search: none;
--quick: 40 runs, 10 key presses, no search, for `make test`). Goals: knob_p95_ms <= 50, history_open_s <= 1.0 (1,000 runs on disk).

The knobs the dashboard opens on are read from the dashboard itself (tui.presets.Preset, i.e. the demo
config), never written here: each press's expected vLAT comes from the knob math (cost.knob_readout).

- 1,000 finished runs are generated under a temporary runs directory;
- a real search (`hanna-tui search`, demo config, started exactly as the dashboard starts it:
  one torch thread, nice 10) runs in the background when the search command exists;
- the real `hanna-tui` runs in a pseudo-terminal (100x30) as a user would run it; each fine-step
  key press (arrow up/down on alpha) is timed from writing the key to the terminal until the
  new vLAT readout arrives in the terminal output (the alpha field is entered with its key, a, first);
- then F3: the time until the history table's rows arrive; and, separately, the cold time to
  index the 1,000 runs in-process.

Wall-clock numbers depend on what else the machine runs: the JSON also gives the dashboard's own
CPU time per key press and for opening the history, and the load average.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hanna_tui import fmt  # noqa: E402
from hanna_tui.cost import CostModel, knob_readout  # noqa: E402
from hanna_tui.fsutil import atomic_write_json  # noqa: E402
from hanna_tui.profiles import load_profile  # noqa: E402
from hanna_tui.store import Run  # noqa: E402
from hanna_tui.tui.launch import LaunchForm, launch_search, spawn_detached  # noqa: E402
from hanna_tui.tui.presets import Preset  # noqa: E402
from hanna_tui.tui.runindex import RunIndex  # noqa: E402

N_RUNS = 1000
PRESSES = 120
QUICK_RUNS, QUICK_PRESSES = 40, 10
DEFAULTS = Preset().knobs  # what the dashboard's knob fields open on
FINE_STEP = 0.01  # the alpha field's up/down step (tui.widgets.KnobInput)


def generate_runs(root: Path, n: int) -> None:
    profile = str(REPO / "profiles" / "rpi3b-hanna.toml")
    for i in range(n):
        path = root / f"20250101-{i:06d}-bench"
        path.mkdir(parents=True)
        knobs = {"alpha": 0.1 + (i % 10) / 10, "beta": 0.6, "gamma": 0.1 + (i % 7) / 7, "delta": 0.3 + (i % 5) / 10}
        meta = {
            "id": path.name,
            "kind": "baseline" if i % 50 == 0 else "search",
            "name": "bench",
            "created": f"2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}+00:00",
        }
        if meta["kind"] == "search":
            meta.update(knobs=knobs, space="fbnet-cifar10", mode="sampled", device="rpi3b", profile=profile)
        atomic_write_json(path / "run.json", meta)
        lat, ener = 2.5 + (i * 37 % 100) / 40, 2.0 + (i * 53 % 100) / 5
        status = {
            "state": "done",
            "epoch": 8,
            "total_epochs": 8,
            "progress": 1.0,
            "best_acc": 0.5 + (i % 40) / 100,
            "latest": {"lat": lat, "ener": ener},
        }
        atomic_write_json(path / "status.json", status)
        atomic_write_json(path / "arch.json", {"predicted": {"latency_s": lat, "energy_j": ener}, "choices": ["skip"] * 22})


def plain_spawn(cmd, log_path: Path):
    """The search as an ordinary child: default torch threads, default priority (for comparison)."""
    import subprocess

    with open(log_path, "ab") as log:
        return subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def start_search(root: Path, plain: bool):
    if not (REPO / "hanna_tui" / "commands" / "search.py").exists():
        return None, None
    d = DEFAULTS
    form = LaunchForm(d.alpha, d.beta, d.gamma, d.delta, profile=str(REPO / "profiles" / "rpi3b-hanna.toml"), epochs=30, name="bench-bg")
    form.threads = 0 if plain else 1
    return launch_search(form, root=root, spawn=plain_spawn if plain else spawn_detached)


class Terminal:
    """hanna-tui in a pseudo-terminal; reads everything it writes."""

    def __init__(self, env: dict[str, str], cols: int = 100, rows: int = 30) -> None:
        exe = Path(sys.executable).parent / "hanna-tui"
        argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "hanna_tui"]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child
            os.execve(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.buffer = b""

    def read_until(self, needles: list[bytes], timeout: float) -> float:
        """Read until every needle has appeared in what was read since the last clear; returns the time."""
        deadline = time.perf_counter() + timeout
        while True:
            if all(n in self.buffer for n in needles):
                return time.perf_counter()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{needles} not seen; got {self.buffer[-300:]!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.buffer += os.read(self.fd, 65536)
                except OSError:
                    raise TimeoutError("the dashboard exited") from None

    def drain(self, duration: float = 0.05) -> None:
        """Discard output for a while (the cursor blinks, so output never goes fully quiet)."""
        end = time.perf_counter() + duration
        while (left := end - time.perf_counter()) > 0:
            if select.select([self.fd], [], [], left)[0]:
                try:
                    os.read(self.fd, 65536)
                except OSError:
                    return
        self.buffer = b""

    def send(self, data: bytes) -> float:
        self.buffer = b""
        t0 = time.perf_counter()
        os.write(self.fd, data)
        return t0

    def close(self) -> None:
        try:
            os.write(self.fd, b"\x11")  # ctrl+q
            deadline = time.time() + 5
            while time.time() < deadline:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
                self.drain(0.1)
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass


def expected_vlat(model: CostModel, alpha: float) -> str:
    """The vLAT readout the knobs screen must show for this alpha and the dashboard's other defaults."""
    return fmt.num(knob_readout(model, replace(DEFAULTS, alpha=alpha))["vlat"])


def measure(root: Path, presses: int = PRESSES) -> dict:
    model = CostModel(load_profile(REPO / "profiles" / "rpi3b-hanna.toml"))
    env = {**os.environ, "HANNA_RUNS": str(root), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    term = Terminal(env)
    latencies: list[float] = []
    try:
        alpha = float(DEFAULTS.alpha)
        term.read_until([b"vLAT", expected_vlat(model, alpha).encode()], 60)
        term.drain(1.5)  # first poll of the runs, initial frames
        term.send(b"a")  # enter the alpha field (letters act on the screen until a field is entered)
        term.drain(0.5)
        cpu0 = cpu_seconds(term.pid)
        for i in range(presses):
            up = i % 2 == 0
            alpha = round(alpha + (FINE_STEP if up else -FINE_STEP), 6)
            want = expected_vlat(model, alpha).encode()
            t0 = term.send(b"\x1b[A" if up else b"\x1b[B")
            latencies.append((term.read_until([want], 5) - t0) * 1000)
            term.drain(0.03)  # typing pace; lets the polls and the search interleave
        cpu_per_press = (cpu_seconds(term.pid) - cpu0) / presses
        term.drain(1.0)
        cpu1 = cpu_seconds(term.pid)
        t0 = term.send(b"\x1bOR")  # F3
        history_s = term.read_until([b"History", b"-bench"], 30) - t0
        history_cpu = cpu_seconds(term.pid) - cpu1
    finally:
        term.close()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "knob_p50_ms": round(statistics.median(latencies), 2),
        "knob_p95_ms": round(q[94], 2),
        "knob_max_ms": round(max(latencies), 2),
        "presses": len(latencies),
        "readouts_matched": len(latencies),  # each press waited for the vLAT of the knob math
        "defaults": DEFAULTS.to_dict(),
        "knob_cpu_ms_per_press": round(cpu_per_press * 1000, 2),
        "history_open_s": round(history_s, 3),
        "history_open_cpu_s": round(history_cpu, 3),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (includes the 30 ms pauses' timers and polls)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_index(root: Path) -> float:
    t0 = time.perf_counter()
    index = RunIndex(root)
    index.refresh(full=True)
    from hanna_tui.tui.history import history_row

    [history_row(s) for s in index.summaries()]
    return time.perf_counter() - t0


def main() -> None:
    plain = "--plain-worker" in sys.argv[1:]
    quick = "--quick" in sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="hanna-bench-") as tmp:
        root = Path(tmp) / "runs"
        generate_runs(root, QUICK_RUNS if quick else N_RUNS)
        os.environ["HANNA_RUNS"] = str(root)
        run, proc = (None, None) if quick or "--no-search" in sys.argv[1:] else start_search(root, plain)
        try:
            if proc is not None:
                deadline = time.time() + 60
                while time.time() < deadline and Run(run.path).status().get("state") != "running":
                    time.sleep(0.5)
            running = proc is not None and proc.poll() is None and Run(run.path).status().get("state") == "running"
            result = measure(root, QUICK_PRESSES if quick else PRESSES)
            result["search_running"] = running
            result["search_worker"] = "plain (default threads, nice 0)" if plain else "1 torch thread, nice 10 (as the dashboard starts it)"
            result["runs_on_disk"] = sum(1 for _ in root.iterdir())
            result["history_cold_index_s"] = round(cold_index(root), 3)
            result["search_still_running"] = proc is not None and proc.poll() is None
        finally:
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except Exception:  # noqa: BLE001
                    proc.kill()
        result["quick"] = quick
        result["goals"] = {"knob_p95_ms": 50, "history_open_s": 1.0}
        result["cpus"] = os.cpu_count()
        result["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
