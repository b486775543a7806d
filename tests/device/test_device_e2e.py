"""profile and deploy end to end against the real sshd (the 'board' is this machine), and their failure modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hanna_tui.cli import main
from hanna_tui.device.profiler import BenchOptions, ConnectOptions, ProfileRequest, partial_path, profile_target
from hanna_tui.profiles import load_profile, save_profile
from hanna_tui.space import get_space
from hanna_tui.store import Run, create_run, summarize

TINY = ["--warmup-runs", "1", "--warmup-time", "0", "--min-runs", "3", "--min-time", "0", "--max-time", "1", "--jit", "eager"]
TINY_BENCH = BenchOptions(warmup_runs=1, warmup_s=0, min_runs=3, min_s=0, max_s=1, jit="eager")
CHOICES = [
    "k3_e1",
    "k3_e1_g2",
    "skip",
    "k5_e3",
    "k3_e6",
    "k5_e1",
    "skip",
    "k3_e3",
    "k5_e6",
    "k3_e1",
    "skip",
    "k5_e1_g2",
    "k3_e3",
    "k3_e1",
    "k3_e1",
    "skip",
    "k5_e3",
    "k3_e6",
    "skip",
    "k5_e1",
    "k3_e3",
    "k5_e6",
]


def make_run(root: Path, profile: str | None = None) -> Run:
    run = create_run("deploy-test", root=root)
    arch = {
        "space": "fbnet-cifar10",
        "width_mult": 0.25,
        "num_classes": 10,
        "choices": CHOICES,
        "predicted": {"latency_s": 0.004, "energy_j": 0.002},
        "profile": profile,
    }
    (run.path / "arch.json").write_text(json.dumps(arch))
    return run


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def deploy_args(run: Run, target: str, *extra: str) -> list[str]:
    return ["deploy", str(run.path), "--target", target, "--remote-python", sys.executable, *TINY, *extra]


def test_profile_over_ssh_end_to_end(ssh_env, tmp_path, capsys):
    out = tmp_path / "profiles" / "board.toml"
    rc, _, err = cli(
        [
            "profile",
            "--target",
            "board",
            "--remote-python",
            sys.executable,
            "--space",
            "fbnet-cifar10",
            "--width-mult",
            "0.25",
            "--out",
            str(out),
            *TINY,
            "--calib-networks",
            "3",
        ],
        capsys,
    )
    assert rc == 0, err
    space = get_space("fbnet-cifar10", 0.25)
    total = space.num_layers * 0 + sum(len(layer.allowed) for layer in space.layers) + 2
    assert f"[{total:4d}/{total}]" in err
    profile = load_profile(out)
    assert profile.width_mult == 0.25 and profile.latency.unit == "ms"
    lat = profile.latency_s()
    for layer in space.layers:
        for cand in range(9):
            assert (lat[layer.index][cand] > 0) == (cand in layer.allowed)
    spread = profile.spread["latency_p90_p50"]
    assert all(spread[i][c] >= 1.0 for i, layer in enumerate(space.layers) for c in layer.allowed)
    assert profile.provenance["target"] == "board" and profile.provenance["torch"]
    assert profile.measurement["stem_ms"] > 0 and profile.measurement["head_ms"] > 0
    assert profile.energy is None
    assert {"latency_mean", "latency_wall_p50", "latency_cpu_p50"} <= set(profile.extra)
    assert profile.measurement["clock"] == "wall" and profile.measurement["threads"] == 1
    assert profile.runtime.label == "torch" and profile.network.width_mult == 0.25
    assert profile.calibration["method"] == "per-candidate" and profile.calibration["fitted_on"] == 3
    repeat = profile.spread["latency_repeatability"]
    assert all(repeat[i][c] >= 0 for i, layer in enumerate(space.layers) for c in layer.allowed)
    assert not partial_path(out).exists()


def killer_python(tmp_path: Path, after_blocks: int = 5) -> Path:
    """A 'python' that, on the first blocks job, drops the SSH connection by killing its sshd session process."""
    marker, log = tmp_path / "dropped", tmp_path / "agent-err.log"
    script = tmp_path / "python-that-drops"
    script.write_text(f"""#!/bin/sh
job=$(mktemp)
cat > "$job"
if [ -e {marker} ] || ! grep -q '"mode": "blocks"' "$job"; then exec {sys.executable} "$@" < "$job"; fi
touch {marker}
( {sys.executable} "$@" < "$job" 2>&1 1>&3 | tee {log} >&2 ) 3>&1 &
while n=$(grep -c '^@hanna' {log} 2>/dev/null); [ "${{n:-0}}" -lt {after_blocks} ]; do sleep 0.05; done
sleep 0.3
pid=$$
while [ "$pid" -gt 1 ]; do
  case "$(cat /proc/$pid/comm)" in sshd*) kill -9 "$pid"; break;; esac
  pid=$(awk '/^PPid:/ {{print $2}}' /proc/$pid/status)
done
wait
""")
    script.chmod(0o755)
    return script


def test_dropped_connection_resumes_keeping_measured_blocks(ssh_env, tmp_path):
    out = tmp_path / "resumed.toml"
    events = []
    req = ProfileRequest(
        connect=ConnectOptions("board", str(killer_python(tmp_path)), retries=2, retry_wait_s=0.1),
        out=out,
        width_mult=0.25,
        bench=BenchOptions(warmup_runs=1, warmup_s=0, min_runs=3, min_s=0.01, max_s=1, jit="eager"),
        calib_networks=0,
    )
    profile = profile_target(req, events.append)
    assert (tmp_path / "dropped").exists()
    messages = [e for e in events if e.message]
    assert len(messages) == 1 and "dropped" in messages[0].message and "reconnecting" in messages[0].message
    kept = messages[0].done
    assert 5 <= kept < 150
    after = events[events.index(messages[0]) + 1]
    assert after.done == kept + 1  # the next block measured continues the count: nothing re-measured
    assert profile.measurement["attempts"] == 2
    load_profile(out)
    assert not partial_path(out).exists()


def test_dropped_connection_without_retries_keeps_partial_and_rerun_resumes(ssh_env, tmp_path, capsys):
    out = tmp_path / "p.toml"
    base = ["profile", "--target", "board", "--width-mult", "0.25", "--out", str(out), *TINY, "--min-time", "0.01", "--calib-networks", "0"]
    rc, _, err = cli([*base, "--remote-python", str(killer_python(tmp_path)), "--retries", "0"], capsys)
    assert rc == 3 and "dropped" in err and "rerun the same command to resume" in err
    assert not out.exists() and partial_path(out).exists()
    kept = len(json.loads(partial_path(out).read_text())["records"])
    assert 5 <= kept < 150
    rc, _, err = cli([*base, "--remote-python", sys.executable], capsys)
    assert rc == 0, err
    first = [line for line in err.splitlines() if line.startswith("profile: [")][0]
    assert first.startswith(f"profile: [{kept + 1:4d}/")
    load_profile(out)


def test_deploy_over_ssh_end_to_end(ssh_env, tmp_path, capsys):
    run = make_run(tmp_path / "runs")
    rc, out, err = cli(deploy_args(run, "board", "--json"), capsys)
    assert rc == 0, err
    result = json.loads(out)
    saved = list((run.path / "deploy").glob("board-*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text()) == result
    assert result["target"] == "board" and result["time"] and result["complete"] is True
    measured = result["measured"]
    assert measured["latency_s"] > 0 and measured["energy_j"] is None and measured["stats"]["n"] >= 3
    assert {"mean", "std", "min", "p50", "p90", "p99"} <= set(measured["stats"])
    # arch.json's 4 ms came from no profile of this board: never shown as the comparison
    assert result["predicted"]["latency_s"] is None and "no profile of this board" in result["predicted"]["note"]
    assert result["measured"]["runtime"] == "torch" and result["device"] == result["board"]["model"]
    assert result["board"]["python"] and result["model"]["input_shape"] == [1, 3, 32, 32]
    summary = summarize(run)
    assert summary.measured_latency_s == measured["latency_s"] and summary.target == "board"


def local_profile(repo_root: Path, folder: Path, width: float = 0.25, **measurement) -> Path:
    """The shipped table re-labelled as a torch profile of this machine (what `profile --target local` records)."""
    from hanna_tui.device.agent import board_info

    board = board_info()
    profile = load_profile(repo_root / "profiles" / "rpi3b-hanna.toml")
    profile.device = {"name": "this machine", "board": board["model"], "cpu": board["cpu"], "machine": board["machine"]}
    profile.width_mult = width
    profile.measurement = {"threads": 1, **measurement}
    folder.mkdir(parents=True, exist_ok=True)
    save_profile(profile, folder / "local.toml")
    return folder / "local.toml"


def test_deploy_local_with_paper_energy_and_the_target_profiles_clock(tmp_path, capsys, repo_root, monkeypatch):
    monkeypatch.setenv("HANNA_PROFILES", str(tmp_path / "profiles"))
    path = local_profile(repo_root, tmp_path / "profiles", clock="cpu", statistic="min")
    run = make_run(tmp_path / "runs", str(repo_root / "profiles" / "rpi3b-hanna.toml"))
    rc, out, err = cli(deploy_args(run, "local", "--json", "--energy", "paper:idle=0.30,active=0.55,volts=5.0"), capsys)
    assert rc == 0, err
    result = json.loads(out)
    measured = result["measured"]
    assert measured["energy_j"] == pytest.approx(0.25 * 5.0 * measured["stats"]["mean"])
    assert (measured["clock"], measured["statistic"]) == ("cpu", "min")  # like the target's profile that predicts it
    assert measured["latency_s"] == measured["stats"]["min"] and measured["repeatability"] >= 0
    assert result["predicted"]["profile"] == str(path) and result["predicted"]["latency_s"] > 0


def test_deploy_never_compares_with_another_devices_profile(tmp_path, capsys, repo_root, monkeypatch):
    monkeypatch.setenv("HANNA_PROFILES", str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    run = make_run(tmp_path / "runs", str(repo_root / "profiles" / "rpi3b-hanna.toml"))
    rc, out, err = cli(deploy_args(run, "local"), capsys)
    assert rc == 0, err
    assert "0.004" not in out and "4.000 ms" not in out and "measured/predicted" not in out
    assert "no profile of this board" in out and "hanna-tui profile --target local --runtime torch" in out


def test_deploy_local_with_fake_hwmon_sensor(tmp_path, capsys):
    hwmon = tmp_path / "sys" / "sys" / "class" / "hwmon" / "hwmon0"
    hwmon.mkdir(parents=True)
    (hwmon / "name").write_text("ina226\n")
    (hwmon / "power1_input").write_text("2500000\n")
    run = make_run(tmp_path / "runs")
    rc, out, err = cli(deploy_args(run, "local", "--json", "--energy", "hwmon", "--energy-root", str(tmp_path / "sys")), capsys)
    assert rc == 0, err
    energy = json.loads(out)["measured"]["energy"]
    assert energy["source"] == "hwmon:ina226" and energy["samples"] >= 2 and energy["idle_samples"] >= 2
    assert energy["idle_power_w"] == pytest.approx(2.5)
    assert abs(energy["energy_j"]) < 1e-6  # constant power: nothing above idle


def fake_python(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def assert_no_result(run: Run) -> None:
    assert not list((run.path / "deploy").glob("*.json")) if (run.path / "deploy").exists() else True


@pytest.mark.parametrize(
    "case",
    ["torch_missing", "wrong_arch", "python_missing", "auth", "host_key", "deadline", "unknown_target"],
)
def test_deploy_failure_modes(case, ssh_env, tmp_path, capsys):
    run = make_run(tmp_path / "runs")
    args = deploy_args(run, "board")
    if case == "torch_missing":
        if subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0:
            pytest.skip("/usr/bin/python3 has torch")
        args[args.index("--remote-python") + 1] = "/usr/bin/python3"
        expect = (2, "torch is not installed")
    elif case == "wrong_arch":
        args[args.index("--remote-python") + 1] = fake_python(tmp_path, "kill -ILL $$")
        expect = (2, "wrong CPU architecture")
    elif case == "python_missing":
        args[args.index("--remote-python") + 1] = "/nonexistent/python3"
        expect = (2, "not found on the target")
    elif case == "auth":
        args[args.index("board")] = "badkey"
        expect = (3, "authentication failed")
    elif case == "host_key":
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{ssh_env.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
        args += ["--known-hosts", str(known)]
        expect = (3, "HOST KEY MISMATCH")
    elif case == "deadline":
        args += ["--deadline", "1", "--min-time", "120", "--max-time", "120"]
        expect = (3, "deadline")
    else:
        args[args.index("board")] = "root@127.0.0.1:1"
        expect = (3, "connection refused")
    rc, _, err = cli(args, capsys)
    lines = [line for line in err.splitlines() if line.startswith("hanna-tui:")]
    assert rc == expect[0] and len(lines) == 1 and expect[1] in lines[0], err
    assert_no_result(run)


def test_deploy_disk_full(ssh_env, tmp_path, capsys):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(small)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        run = make_run(tmp_path / "runs")
        rc, _, err = cli([*deploy_args(run, "board"), "--remote-dir", str(small)], capsys)
        assert rc == 2 and "disk full" in err, err
        assert not [p for p in small.rglob("*") if ".tmp-" in p.name]
        assert_no_result(run)
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_profile_rejects_bad_options(tmp_path, capsys):
    rc, _, err = cli(["profile", "--target", "local", "--out", str(tmp_path), "--width-mult", "0.25"], capsys)
    assert rc == 2 and "is a directory" in err
    rc, _, err = cli(["profile", "--target", "local", "--out", str(tmp_path / "x.toml"), "--energy", "bogus"], capsys)
    assert rc == 2 and "unknown source" in err
    rc, _, err = cli(["profile", "--target", "local", "--out", str(tmp_path / "x.toml"), "--clock", "cpu", "--threads", "2"], capsys)
    assert rc == 2 and "--threads 1" in err
    assert os.listdir(tmp_path) == []
