"""End-to-end batch runs with the real commands (search, sample, train, deploy) on tiny configs.

- a sweep of 4 settings at concurrency 2, killed with SIGKILL after the first run finished, then
  re-run: the finished runs are not touched, all 4 end done;
- SIGTERM stops a batch with exit code 130 and a summary;
- the Ray executor on a local cluster started by the batch (skipped when ray is not installed).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hanna_tui.fsutil import read_json

pytestmark = pytest.mark.slow

TINY = """
[base.run]
device = "cpu"
log_interval = 2
[base.profile]
path = "profiles/rpi3b-hanna.toml"
[base.space]
width_mult = 0.25
proxy = true
[base.data]
name = "synthetic"
synthetic_train = 256
synthetic_test = 128
[base.search]
mode = "sampled"
epochs = {epochs}
warmup_epochs = 1
batch_size = 32
"""


def write_batch(tmp_path: Path, name: str, extra: str, epochs: int = 2) -> Path:
    """A tiny search (epochs = 1 trains weights only; 2 also trains theta once)."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[batch]\nname = "{name}"\nruns_root = "{tmp_path / "runs"}"\n' + extra + TINY.format(epochs=epochs), encoding="utf-8")
    return path


def start(path: Path, *flags: str) -> subprocess.Popen:
    """The batch as its own process group (as a shell job would be)."""
    cmd = [sys.executable, "-m", "hanna_tui", "--batch", str(path), *flags]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 400) -> tuple[int, dict, str]:
    out, err = proc.communicate(timeout=timeout)
    try:
        summary = json.loads(out)
    except json.JSONDecodeError:
        pytest.fail(f"stdout is not one JSON document:\n{out}\nstderr:\n{err}")
    return proc.returncode, summary, err


def run_dirs(batch_dir: Path) -> list[Path]:
    """The batch's run directories: beside the batch directory, named <batch>-<label>-<hash>."""
    return sorted(p for p in batch_dir.parent.glob(f"{batch_dir.name}-*") if p.is_dir())


def finished(run_dir: Path) -> bool:
    return (read_json(run_dir / "status.json", {}) or {}).get("state") == "done" and (run_dir / "arch.json").is_file()


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"batch ended early (exit {proc.returncode}):\n{err[-3000:]}")
        assert time.monotonic() < deadline, "timed out waiting for the batch"
        time.sleep(0.2)


def snapshot(run_dir: Path) -> dict[str, tuple[int, int]]:
    """mtime and size of every file of a run directory."""
    return {str(p.relative_to(run_dir)): (p.stat().st_mtime_ns, p.stat().st_size) for p in run_dir.rglob("*") if p.is_file()}


def test_sweep_killed_midway_resumes_without_redoing_finished_runs(tmp_path: Path) -> None:
    config = write_batch(tmp_path, "kill4", "concurrency = 2\n[sweep]\ngrid = {alpha = [0.1, 0.4], gamma = [0.1, 0.4]}\n", epochs=1)
    batch_dir = tmp_path / "runs" / "kill4"
    proc = start(config)
    wait_for(lambda: batch_dir.is_dir() and any(finished(d) for d in run_dirs(batch_dir)), proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = [d for d in run_dirs(batch_dir) if finished(d)]
    assert 1 <= len(done_before) < 4
    before = {d.name: snapshot(d) for d in done_before}
    lines_before = {d.name: len((d / "metrics.jsonl").read_text().splitlines()) for d in done_before}

    code, summary, err = finish(start(config))
    assert code == 0, err[-3000:]
    assert summary["state"] == "done" and summary["counts"] == {"done": 4}
    assert len(summary["runs"]) == 4 and all(r["state"] == "done" for r in summary["runs"])
    skipped = [r["name"] for r in summary["runs"] if set(r["steps"].values()) == {"skipped (already done)"}]
    assert sorted(skipped) == sorted(before)
    for run in summary["runs"]:
        assert run["pred_latency_s"] > 0 and run["pred_energy_j"] > 0 and run["accuracy"] is not None
        assert Path(run["run_dir"]).name == run["name"]
    for d in done_before:
        assert snapshot(d) == before[d.name], f"{d.name} was touched by the re-run"
        assert len((d / "metrics.jsonl").read_text().splitlines()) == lines_before[d.name]
    assert summary["pareto"] and set(summary["pareto"]) <= {r["name"] for r in summary["runs"]}
    manifest = json.loads((batch_dir / "manifest.json").read_text())
    assert manifest["state"] == "done" and len(manifest["runs"]) == 4
    from hanna_tui.store import list_runs

    listed = [r for r in list_runs(tmp_path / "runs") if r.id.startswith("kill4-")]
    assert len(listed) == 4 and {r.state for r in listed} == {"done"}  # `hanna-tui runs` and the dashboard see them
    knobs = sorted((r["knobs"]["alpha"], r["knobs"]["gamma"]) for r in summary["runs"])
    assert knobs == [(0.1, 0.1), (0.1, 0.4), (0.4, 0.1), (0.4, 0.4)]
    # a third run has nothing left to do
    code, again, _ = finish(start(config))
    assert code == 0 and all(set(r["steps"].values()) == {"skipped (already done)"} for r in again["runs"])


def test_sigterm_stops_the_batch_with_exit_130(tmp_path: Path) -> None:
    config = write_batch(tmp_path, "term", "[base]\n")
    batch_dir = tmp_path / "runs" / "term"

    def searching() -> bool:
        return batch_dir.is_dir() and any((read_json(d / "status.json", {}) or {}).get("state") == "running" for d in run_dirs(batch_dir))

    proc = start(config)
    wait_for(searching, proc)
    pid = (read_json(run_dirs(batch_dir)[0] / "status.json", {}) or {}).get("pid")
    proc.send_signal(signal.SIGTERM)
    code, summary, err = finish(proc, timeout=60)
    assert code == 130, err[-3000:]
    assert summary["state"] == "interrupted" and summary["exit_code"] == 130
    assert summary["runs"][0]["state"] == "interrupted"
    time.sleep(0.5)
    from hanna_tui.store import pid_alive

    assert not pid_alive(pid), "the search process outlived the batch"


def test_ray_executor_full_pipeline_on_a_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="ray is not installed (optional extra hanna-tui[ray])")
    extra = """concurrency = 2
[train]
epochs = 1
device = "cpu"
[deploy]
targets = ["local"]
extra_args = ["--min-runs", "3", "--min-time", "0", "--warmup-runs", "1", "--warmup-time", "0"]
[[sweep.settings]]
name = "lat"
alpha = 0.6
[[sweep.settings]]
name = "ener"
gamma = 0.6
"""
    config = write_batch(tmp_path, "rayed", extra)
    code, summary, err = finish(start(config, "--executor", "ray", "--address", "local"))
    assert code == 0, err[-3000:]
    assert summary["executor"] == "ray" and summary["counts"] == {"done": 2}
    for run in summary["runs"]:
        assert run["steps"]["search"] == "done" and run["steps"]["train"] == "done" and run["steps"]["deploy:local"] == "done"
        assert run["top1"] is not None and run["accuracy"] == run["top1"]
        assert run["measured"] and run["measured"][0]["target"] == "local" and run["measured"][0]["latency_s"] > 0
        assert Path(run["run_dir"]).parent == tmp_path / "runs" and Path(run["run_dir"]).name.startswith("rayed-")


def test_batch_killed_alone_leaves_its_search_running_and_the_rerun_adopts_it(tmp_path: Path) -> None:
    """kill -9 of the batch process only (not its group): the search goes on; the re-run waits for it."""
    config = write_batch(tmp_path, "adopt", "[base]\n", epochs=1)
    batch_dir = tmp_path / "runs" / "adopt"

    def searching() -> bool:
        return batch_dir.is_dir() and any((read_json(d / "status.json", {}) or {}).get("state") == "running" for d in run_dirs(batch_dir))

    first = start(config)
    wait_for(searching, first)
    first.kill()
    first.communicate(timeout=30)
    run_dir = run_dirs(batch_dir)[0]
    pid = (read_json(run_dir / "status.json", {}) or {}).get("pid")
    from hanna_tui.store import pid_alive

    assert pid_alive(pid), "the search should outlive a batch killed alone"
    try:
        code, summary, err = finish(start(config))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)  # nothing should be left; never leak a search
    assert code == 0, err[-3000:]
    assert summary["runs"][0]["steps"]["search"] == "done (adopted a running process)"
    (log_path,) = (batch_dir / "logs").glob("*.search.log")
    log = log_path.read_text()
    starts = [line for line in log.splitlines() if line.startswith("# ") and " search --config " in line]
    assert len(starts) == 1  # one search started in all, by the first batch
