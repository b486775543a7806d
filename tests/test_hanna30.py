"""examples/hanna30.toml: the authors' protocol as options (per-model schedules, theta and weights on the
same images, offline), a real shortened run of its first two settings, and negative exponents (the
authors' README runs beta = -0.2): accepted with one warning line on stderr for `search` and `--batch`."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hanna_tui.batch.config import batch_warnings, load_batch_config
from hanna_tui.nas.supernet import temperature_at
from hanna_tui.tomlio import load_toml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "hanna30.toml"
PROFILE = ROOT / "profiles" / "rpi3b-hanna.toml"


def test_the_authors_schedules_per_model() -> None:
    cfg = load_batch_config(EXAMPLE)
    schedules = {s.label: (s.config.search.epochs, s.config.search.warmup_epochs) for s in cfg.settings}
    assert len(schedules) == 29
    assert schedules.pop("model02") == (100, 10)  # termlogs/model02.log: epochs 0-99
    assert schedules.pop("model12") == (82, 2)  # 2 warm-up + 80
    assert set(schedules.values()) == {(90, 10)}  # model13 and model18 too: their planned schedule
    for s in cfg.settings:
        assert s.config.data.val_fraction == 0.0  # theta and the weights on the same images
        assert s.config.data.download is False and s.config.data.name == "cifar10"
        assert s.config.search.temperature == 5.0 and s.config.search.temperature_decay == 0.956
    assert "download" not in load_toml(EXAMPLE)["base"]["data"]  # an offline example
    # the final temperature of a 90 / 10 schedule: 5.0 x 0.956^80 = 0.13665 (the authors' last value)
    assert math.isclose(temperature_at(90, 5.0, 0.956, 10), 0.13665, abs_tol=5e-6)
    assert math.isclose(temperature_at(89, 5.0, 0.956, 10), 0.14294, abs_tol=5e-6)  # the last theta epoch
    assert batch_warnings(cfg) == []  # no negative exponent in the authors' table


SHORT = [  # the first two settings, shortened from the command line: generated data, a slim proxy, 2 epochs
    "--only",
    "model02,model03",
    *("--set", "run.device=cpu", "--set", "run.threads=1", "--set", "space.width_mult=0.25", "--set", "space.proxy=true"),
    *("--set", "data.name=synthetic", "--set", "data.synthetic_train=192", "--set", "data.synthetic_test=64"),
    *("--set", "data.image_size=16", "--set", "search.mode=sampled", "--set", "search.batch_size=48"),
    *("--set", "search.epochs=2", "--set", "search.warmup_epochs=1", "--set", "train.enabled=false"),
]


def test_only_and_set_narrow_the_batch() -> None:
    from hanna_tui.batch.config import narrow

    cfg = load_batch_config(EXAMPLE)
    full = {s.label: s.run_name for s in cfg.settings}
    narrow(cfg, [a for a in SHORT[3:] if a != "--set"], ["model02", "model03"])
    assert [s.label for s in cfg.settings] == ["model02", "model03"]
    assert all((s.config.search.epochs, s.config.search.warmup_epochs) == (2, 1) for s in cfg.settings)  # over model02's 100 / 10
    assert all(s.config.data.val_fraction == 0.0 for s in cfg.settings)  # the example's protocol kept
    assert not cfg.train.enabled
    assert all(s.run_name != full[s.label] for s in cfg.settings)  # a shortened run never resumes the full one


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--only", "model99"], "--only: model99: no such setting"),
        (["--set", "search.epochs"], "expected SECTION.KEY=VALUE"),
        (["--set", "search.epochs=0"], "search.epochs"),
        (["--set", "train.nope=1"], "train.nope"),
    ],
)
def test_bad_only_and_set_are_one_line(args: list[str], needle: str) -> None:
    out = subprocess.run([sys.executable, "-m", "hanna_tui", "--batch", str(EXAMPLE), *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr


@pytest.mark.slow
def test_the_first_two_settings_run_shortened_with_set(tmp_path: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", HANNA_RUNS=str(tmp_path / "runs"))
    cmd = [sys.executable, "-m", "hanna_tui", "--batch", str(EXAMPLE), *SHORT]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert summary["counts"] == {"done": 2} and "front" not in summary  # knob searches: no budget front
    knobs = {r["label"]: r["knobs"] for r in summary["runs"]}
    assert knobs["model02"]["alpha"] == 0.3 and knobs["model03"]["alpha"] == 0.7


# ---------------------------------------------------------------- negative exponents


def test_negative_exponents_load_with_one_warning_per_kind(tmp_path: Path) -> None:
    path = tmp_path / "neg.toml"
    path.write_text(
        f'[base.profile]\npath = "{PROFILE}"\n[base.knobs]\nbeta = -0.2\n'
        '[[sweep.settings]]\nname = "a"\n[[sweep.settings]]\nname = "b"\ndelta = -0.5\n[[sweep.settings]]\nname = "c"\nalpha = 0.0\n',
        encoding="utf-8",
    )
    cfg = load_batch_config(path)
    assert cfg.settings[0].config.knobs.beta == -0.2  # accepted
    lines = batch_warnings(cfg)
    assert len(lines) == 2
    assert "beta = -0.2 < 0" in lines[0] and "slower" in lines[0] and lines[0].endswith("(runs a, b)")  # c: alpha = 0
    assert "delta = -0.5 < 0" in lines[1] and "costlier" in lines[1] and lines[1].endswith("(run b)")


def test_batch_prints_the_warning_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "neg.toml"
    path.write_text(f'[base.profile]\npath = "{PROFILE}"\n[base.knobs]\nbeta = -0.2\n', encoding="utf-8")
    # --concurrency 0 is refused right after the config loaded: the warning came first, nothing ran
    out = subprocess.run(
        [sys.executable, "-m", "hanna_tui", "--batch", str(path), "--concurrency", "0"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "beta = -0.2" in warnings[0] and "rewarded for slower networks" in warnings[0]


def test_search_prints_the_warning_on_stderr(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", HANNA_RUNS=str(tmp_path))
    # an energy budget out of range stops the search before a run directory, after the warning
    cmd = [sys.executable, "-m", "hanna_tui", "search", "--demo", "--set", "knobs.beta=-0.2", "--set", "constraints.energy_j=99"]
    out = subprocess.run([*cmd, "--run-dir", str(run_dir)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 2 and not run_dir.exists()
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("warning: beta = -0.2 < 0") and "slower" in lines[0]
    assert "constraints.energy_j" in lines[1]
    quiet = subprocess.run(
        [sys.executable, "-m", "hanna_tui", "search", "--demo", "--set", "constraints.energy_j=99", "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert quiet.returncode == 2 and "warning" not in quiet.stderr
