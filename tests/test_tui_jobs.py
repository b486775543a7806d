"""Long actions of the dashboard are jobs: their own detached processes, listed on j, stoppable, followed live.

- Deploy (5, d) to the local target starts `hanna-tui deploy` as a job; the screen shows its steps as
  they come and the measured result when it ends, with no reload;
- a long profile (Profiles, n) is stopped from the jobs list after the profile screen was closed:
  SIGTERM to its process group, the CLI ends the on-device agent (its own session) and exits 130, the
  job is "stopped", no profile (nor a temp file) is left behind, no agent measures on;
- p on Runs starts `hanna-tui report` as a job and says where index.md is when it ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("textual")

from textual.widgets import Input, OptionList, ProgressBar, RichLog, Select, Static  # noqa: E402

from hanna_tui.device.profiler import BenchOptions  # noqa: E402
from hanna_tui.store import Run, create_run  # noqa: E402
from hanna_tui.tui.app import HannaApp  # noqa: E402
from hanna_tui.tui.launch import LogFollower, bench_args, last_error, spawn_detached  # noqa: E402
from hanna_tui.tui.screens.jobs import Job, JobsDialog  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from fixtures import make_fixture_set  # noqa: E402
from test_tui_support import PROFILES, FakeSpawn, plain, sync  # noqa: E402

SIZE = (140, 45)
TINY = BenchOptions(warmup_runs=1, warmup_s=0, min_runs=3, min_s=0, max_s=1, jit="eager")
# many repeats: about 0.4 s a block over its rounds (the agent reports every 8 blocks), minutes in all
LONG = BenchOptions(warmup_runs=0, warmup_s=0, min_runs=1, min_s=0.4, max_s=5, jit="eager")
CHOICES = ["k3_e1", "k3_e1_g2", "skip", "k5_e3", "k3_e6", "k5_e1", "skip", "k3_e3", "k5_e6", "k3_e1", "skip"]
CHOICES += ["k5_e1_g2", "k3_e3", "k3_e1", "k3_e1", "skip", "k5_e3", "k3_e6", "skip", "k5_e1", "k3_e3", "k5_e6"]


@pytest.fixture()
def runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("HANNA_RUNS", str(root))
    monkeypatch.setenv("HANNA_PRESETS", str(tmp_path / "presets"))
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-ssh-config"))
    return root


async def wait_until(pilot, check, timeout: float = 60.0, pause: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        await pilot.pause(pause)
    return check()


def log_text(screen, wid: str) -> str:
    return "\n".join(str(line.text) for line in screen.query_one(wid, RichLog).lines)


def group_gone(pgid: int, timeout: float = 5.0) -> bool:
    """No process left in the group (a member just killed may be a zombie for a moment)."""
    end = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def agent_children(pid: int) -> list[int]:
    """The on-device agents a `hanna-tui profile/deploy --target local` process started (in sessions of their own)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, ValueError):
            continue
        if f"\nPPid:\t{pid}\n" in status and "agent-" in cmdline:
            found.append(int(entry.name))
    return found


def gone(pid: int, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        try:
            if Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def notes(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


@sync
async def test_deploy_is_a_job_followed_live_and_its_result_shows_without_reload(runs) -> None:
    run = create_run("screen", root=runs)
    arch = {"space": "fbnet-cifar10", "width_mult": 0.25, "num_classes": 10, "choices": CHOICES, "predicted": {"latency_s": 0.002}}
    (run.path / "arch.json").write_text(json.dumps(arch))
    app = HannaApp(runs_root=runs, profiles=PROFILES, spawn=FakeSpawn(), poll_s=0.2, prebuild=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        screen = app.screen
        assert await wait_until(pilot, lambda: screen.query_one("#deploy-runs", OptionList).option_count == 1)
        assert "not deployed yet" in plain(screen.query_one("#deploy-result", Static).render())
        screen.bench = TINY
        screen.query_one("#python", Input).value = sys.executable
        await pilot.press("d")  # the run list holds the focus: d deploys
        await pilot.pause()
        assert [j.kind for j in app.jobs] == ["deploy"]
        job = app.jobs[0]
        pid = job.proc.pid
        assert os.getpgid(pid) == pid != os.getpgrp()  # its own process group (and session): it outlives the dashboard
        assert job.log.parent == run.path / "deploy" and job.log.suffix == ".log"
        cmd = job.proc.args
        assert cmd[3:5] == ["deploy", str(run.path)] and cmd[cmd.index("--target") + 1] == "local"
        assert cmd[cmd.index("--min-runs") + 1] == "3" and "--clock" not in cmd  # clock/statistic: the profile's
        # live: a step of the CLI is on screen while the job still runs
        assert await wait_until(pilot, lambda: "connecting to local" in log_text(screen, "#deploy-log"))
        assert job.state() == "running" and screen.busy
        await pilot.press("d")
        assert "already running" in notes(app)
        assert await wait_until(pilot, lambda: not screen.busy, timeout=120)
        assert job.state() == "done"
        results = Run(run.path).deploy_results()
        assert len(results) == 1 and results[0]["target"] == "local"
        text = plain(screen.query_one("#deploy-result", Static).render())
        assert "local" in text and "measured" in text and "not deployed yet" not in text  # no reload pressed
        log = log_text(screen, "#deploy-log")
        assert "measuring" in log and "saved" in log and log.rstrip().endswith("done")
        await pilot.press("j")
        await pilot.pause()
        assert isinstance(app.screen, JobsDialog)
        assert str(app.screen.query_one("#jobs-list", OptionList).get_option_at_index(0).prompt).startswith("done")


@sync
async def test_a_long_profile_is_stopped_from_the_jobs_list(runs, tmp_path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    app = HannaApp(runs_root=runs, profiles=profiles, spawn=FakeSpawn(), poll_s=0.2, prebuild=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("n")  # profile a target
        await pilot.pause()
        screen = app.screen
        screen.bench = LONG
        screen.query_one("#width", Input).value = "0.25"
        out = screen.query_one("#out", Input)
        out.value = "long"
        out.focus()
        await pilot.press("enter")  # enter in a field starts it, as the button does
        await pilot.pause()
        job = app.jobs[-1]
        assert job.kind == "profile" and job.out == (profiles / "long.toml").resolve()
        assert job.log.parent == runs / ".jobs"  # with the dashboard's other job logs
        pgid = job.proc.pid
        assert os.getpgid(pgid) == pgid
        bar = screen.query_one("#profile-progress", ProgressBar)
        assert await wait_until(pilot, lambda: (bar.progress or 0) > 0, timeout=90)  # the first blocks, while it runs
        assert bar.total == 193 and job.state() == "running"
        agents = agent_children(pgid)
        assert len(agents) == 1 and os.getsid(agents[0]) == agents[0] != os.getsid(pgid)  # out of reach of the job's group
        await pilot.press("escape")  # back to Profiles: the job goes on
        await pilot.pause()
        assert job.state() == "running"
        await pilot.press("j")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, JobsDialog)
        options = dialog.query_one("#jobs-list", OptionList)
        options.focus()
        options.highlighted = 0
        await pilot.press("enter")  # stop it
        assert await wait_until(pilot, lambda: job.state() != "running", timeout=20)
        assert job.state() == "stopped" and job.proc.returncode == 130  # the CLI's own clean stop (EXIT_INTERRUPTED)
        assert group_gone(pgid) and all(gone(pid) for pid in agents)  # the agent was ended too: nothing measures on
        assert "cancelled by SIGTERM (" in last_error(job.log)
        assert await wait_until(pilot, lambda: str(options.get_option_at_index(0).prompt).startswith("stopped"), timeout=5)
        assert "sent SIGTERM" in notes(app)
        assert not (profiles / "long.toml").exists()
        leftovers = [p.name for p in profiles.iterdir() if p.name != "long.toml.partial.json"]
        assert leftovers == []  # no temp file; the partial state, when there, is the resume of the measured blocks
        partial = profiles / "long.toml.partial.json"
        if partial.exists():
            assert isinstance(json.loads(partial.read_text()), dict)
        await pilot.press("enter")  # a second stop: nothing to do
        assert "nothing to stop" in notes(app)


@sync
async def test_the_report_key_runs_hanna_tui_report_as_a_job(runs) -> None:
    make_fixture_set(runs)
    app = HannaApp(runs_root=runs, profiles=PROFILES, spawn=spawn_detached, poll_s=0.2, prebuild=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        screen = app.screen
        assert await wait_until(pilot, lambda: screen.detail is not None)
        selected = screen.detail.run
        await pilot.press("p")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#job-out", Input).value == str(runs / "report")
        form.query_one("#job-which", Select).value = "selected"  # the one selected run: a quick report
        await pilot.pause()
        form.query_one("#job-out", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        job = app.jobs[-1]
        assert job.kind == "report" and job.log.parent == runs / ".jobs"
        assert job.proc.args[3:] == ["report", str(selected.path), "--out", str(runs / "report")]
        assert await wait_until(pilot, lambda: job.ended, timeout=120)
        assert job.state() == "done", job.log.read_text()
        index = runs / "report" / "index.md"
        assert index.is_file() and f"wrote {index}" in notes(app)
        assert selected.id in index.read_text()


def test_job_states_and_the_log_follower(tmp_path) -> None:
    log = tmp_path / "job.log"
    failed = Job("fails", subprocess.Popen(["/bin/sh", "-c", "echo 'hanna-tui: no such run'; exit 3"], stdout=log.open("wb")), log)
    failed.proc.wait()
    assert failed.state() == "exit 3" and last_error(log) == "no such run"
    # a child of the job's process is in its group: the stop reaches it too
    sleeper = Job("sleeps", spawn_detached(["/bin/sh", "-c", "sleep 30; echo"], tmp_path / "sleep.log"), tmp_path / "sleep.log")
    assert sleeper.state() == "running"
    assert "process group" in sleeper.stop()
    sleeper.proc.wait(timeout=10)
    assert sleeper.state() == "stopped" and group_gone(sleeper.proc.pid)
    assert Job("fake", None, log).state() == "done"  # a spawner that started nothing

    follower = LogFollower(tmp_path / "grow.log", max_bytes=100)
    assert follower.read() == []  # not there yet
    with open(tmp_path / "grow.log", "w") as out:
        out.write("one\ntw")
        out.flush()
        assert follower.read() == ["one"]
        out.write("o\n" + "x" * 500 + "\nlast\nend")
        out.flush()
        burst = follower.read()  # more than max_bytes: only the tail is read, never a cut line
        assert burst[-1] == "last" and all(len(line) <= 100 for line in burst)
    assert follower.drain() == ["end"]
    assert bench_args(TINY)[:2] == ["--threads", "1"] and "--statistic" not in bench_args(TINY)
    assert bench_args(None) == []
