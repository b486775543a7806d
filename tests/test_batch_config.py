"""Batch config: schema, sweep expansion, validation errors and exit codes (no search runs here)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hanna_tui.batch.config import load_batch_config
from hanna_tui.batch.summary import mark_pareto
from hanna_tui.errors import ConfigError

HEAD = '[base.profile]\npath = "profiles/rpi3b-hanna.toml"\n'


def write(tmp_path: Path, text: str, name: str = "batch.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hanna_tui", *args], capture_output=True, text=True, timeout=timeout)


def test_grid_and_settings_expand(tmp_path: Path) -> None:
    text = (
        HEAD
        + """
[batch]
concurrency = 3
[base.search]
epochs = 4
warmup_epochs = 1
[sweep]
grid = {alpha = [0.1, 0.2], knobs = {beta = [0.5, 1.0]}, "search.epochs" = [2]}
[[sweep.settings]]
name = "paper 02"
alpha = 0.3
search.batch_size = 16
"""
    )
    cfg = load_batch_config(write(tmp_path, text, "my-sweep.toml"))
    assert cfg.batch.name == "my-sweep" and cfg.batch.concurrency == 3
    assert len(cfg.settings) == 5
    first = cfg.settings[0]
    assert first.label == "paper-02" and first.config.knobs.alpha == 0.3 and first.config.search.batch_size == 16
    assert first.config.search.epochs == 4  # from [base]
    grid = cfg.settings[1:]
    assert [(s.config.knobs.alpha, s.config.knobs.beta) for s in grid] == [(0.1, 0.5), (0.1, 1.0), (0.2, 0.5), (0.2, 1.0)]
    assert all(s.config.search.epochs == 2 for s in grid)
    assert grid[0].overrides == {"knobs.alpha": 0.1, "knobs.beta": 0.5, "search.epochs": 2}
    again = load_batch_config(tmp_path / "my-sweep.toml")
    assert [s.run_name for s in again.settings] == [s.run_name for s in cfg.settings]  # deterministic names
    assert len({s.run_name for s in cfg.settings}) == 5


def test_no_sweep_is_one_run_and_steps_are_optional(tmp_path: Path) -> None:
    cfg = load_batch_config(write(tmp_path, HEAD + "[train]\nepochs = 2\n"))
    assert len(cfg.settings) == 1 and cfg.settings[0].label == "base"
    assert cfg.train.enabled and cfg.train.epochs == 2 and not cfg.deploy.enabled


def test_shipped_examples_load(repo_root: Path) -> None:
    demo = load_batch_config(repo_root / "examples" / "demo.toml")
    assert demo.batch.name == "demo" and len(demo.settings) >= 2 and demo.train.enabled
    paper = load_batch_config(repo_root / "examples" / "hanna30.toml")
    names = [s.label for s in paper.settings]
    assert names == [f"model{i:02d}" for i in range(2, 31)]  # the authors' table: models 02-30
    model20 = paper.settings[names.index("model20")].config.knobs
    assert (model20.alpha, model20.beta, model20.gamma, model20.delta) == (4.2, 0.45, 0.2, 0.45)
    model09 = paper.settings[names.index("model09")].config.knobs
    assert model09.alpha == 0.0 and model09.gamma == 0.2
    assert paper.base.search.warmup_epochs == 10 and paper.base.search.batch_size == 256


BAD = [
    ("[batch]\nnme = 'x'\n", "batch.nme: unknown key"),
    ("[batch]\nconcurrency = '2'\n", "batch.concurrency: expected an integer"),
    ("[batch]\nconcurrency = 0\n", "batch.concurrency: expected an integer >= 1"),
    ("[batch]\nexecutor = 'slurm'\n", "batch.executor: expected one of local, ray"),
    ("[oops]\n", "oops: unknown section"),
    ("[sweep]\ngrid = {alpha = []}\n", "sweep.grid.alpha: expected a non-empty list"),
    ("[sweep]\ngrid = {}\n", "sweep.grid: expands to no run"),
    ("[sweep]\nsettings = []\n", "sweep: expands to no run"),
    ("[sweep]\ngrid = {alpha = 0.3}\n", "sweep.grid.alpha: expected a list"),
    ("[[sweep.settings]]\nalpha = 'high'\n", "sweep.settings[0]: knobs.alpha: expected a number"),
    ("[[sweep.settings]]\nepsilon = 1\n", "sweep.settings[0].epsilon: unknown key"),
    ("[[sweep.settings]]\nsearch.epochz = 1\n", "search.epochz: unknown key"),
    ("[[sweep.settings]]\nalpha = -1.0\n", "knobs.alpha: expected a finite number >= 0"),
    ("[base.search]\nepochs = 'ten'\n", "base: search.epochs: expected an integer"),
    ("[base.profile]\npath = 'nope.toml'\n", "base.profile.path: nope.toml: profile file not found"),
    ("[train]\nepochs = 1.5\n", "train.epochs: expected an integer"),
    ("[deploy]\ntargets = []\n", "deploy.targets: expected a non-empty list"),
    ("[deploy]\ntargets = 'local'\n", "deploy.targets: expected a list of strings"),
    ("[[sweep.settings]]\nalpha = 0.1\n[[sweep.settings]]\nalpha = 0.1\n", "sweep.settings[1]: duplicates sweep.settings[0]"),
]


@pytest.mark.parametrize(("body", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_config_names_file_and_field(tmp_path: Path, body: str, message: str) -> None:
    text = body if body.startswith("[base.profile]") else HEAD + body
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_batch_config(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_exit_codes_for_bad_input_and_unreachable_target(tmp_path: Path) -> None:
    bad = run_cli("--batch", str(write(tmp_path, HEAD + "[sweep]\ngrid = {beta = []}\n")))
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"hanna-tui: {tmp_path / 'batch.toml'}: sweep.grid.beta: expected a non-empty list (an empty list expands the grid to no run)"
    ]
    assert json.loads(bad.stdout)["exit_code"] == 2
    missing = run_cli("--batch", str(tmp_path / "absent.toml"))
    assert missing.returncode == 2 and "file not found" in missing.stderr
    port = _closed_port()
    text = HEAD + f'[deploy]\ntargets = ["local", "pi@127.0.0.1:{port}"]\n'
    unreachable = run_cli("--batch", str(write(tmp_path, text, "deploy.toml")))
    assert unreachable.returncode == 3, unreachable.stderr
    assert f"deploy.targets: pi@127.0.0.1:{port}: unreachable" in unreachable.stderr
    assert json.loads(unreachable.stdout)["state"] == "unreachable"
    assert not (tmp_path / "runs").exists()  # nothing started
    flag = run_cli("--batch", str(tmp_path / "deploy.toml"), "--concurrency", "0")
    assert flag.returncode == 2 and "--concurrency: expected an integer >= 1" in flag.stderr


def test_not_an_ssh_server_is_unreachable(tmp_path: Path) -> None:
    from hanna_tui.batch.runner import check_target
    from hanna_tui.errors import TargetUnreachable

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with pytest.raises(TargetUnreachable, match="not an SSH server|unreachable"):
            check_target(f"pi@127.0.0.1:{port}", "x.toml: deploy.targets", timeout=0.5)


def test_batch_imports_no_textual() -> None:
    code = (
        "import sys, hanna_tui.cli, hanna_tui.batch.runner; assert 'textual' not in sys.modules and 'torch' not in sys.modules; print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_pareto_marks_non_dominated_finished_runs() -> None:
    def rec(name: str, lat: float, ener: float, acc: float, state: str = "done") -> dict:
        return {"name": name, "state": state, "pred_latency_s": lat, "pred_energy_j": ener, "accuracy": acc, "pareto": False}

    records = [
        rec("fast", 1.0, 5.0, 0.5),
        rec("frugal", 5.0, 1.0, 0.5),
        rec("accurate", 5.0, 5.0, 0.9),
        rec("dominated", 5.0, 5.0, 0.5),
        rec("failed", 0.1, 0.1, 0.99, state="failed"),
    ]
    assert mark_pareto(records) == ["fast", "frugal", "accurate"]
    assert [r["pareto"] for r in records] == [True, True, True, False, False]


def test_ray_address_that_does_not_answer_is_exit_3(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="ray is not installed (optional extra hanna-tui[ray])")
    path = write(tmp_path, HEAD)
    port = _closed_port()
    dead = run_cli("--batch", str(path), "--executor", "ray", "--address", f"127.0.0.1:{port}")
    assert dead.returncode == 3 and f"--address '127.0.0.1:{port}': the Ray cluster does not answer" in dead.stderr
    bad = run_cli("--batch", str(path), "--executor", "ray", "--address", "nowhere")
    assert bad.returncode == 2 and "expected local, auto, HOST:PORT" in bad.stderr


def test_base_config_file_is_the_starting_point(tmp_path: Path) -> None:
    (tmp_path / "search.toml").write_text("[search]\nepochs = 7\nwarmup_epochs = 2\n[knobs]\nalpha = 0.9\n", encoding="utf-8")
    cfg = load_batch_config(write(tmp_path, '[base]\nconfig = "search.toml"\n' + HEAD + "[base.knobs]\nbeta = 0.3\n"))
    assert (cfg.base.search.epochs, cfg.base.knobs.alpha, cfg.base.knobs.beta) == (7, 0.9, 0.3)
    with pytest.raises(ConfigError, match="base: space.widht: unknown key"):
        load_batch_config(write(tmp_path, HEAD + "[base.space]\nwidht = 1\n", "typo.toml"))
