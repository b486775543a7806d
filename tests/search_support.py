"""Helpers for the search and CLI tests: tiny configs and the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILE = REPO_ROOT / "profiles" / "rpi3b-hanna.toml"
REFERENCE = REPO_ROOT.parent / "shared" / "reference" / "hanna-rpi3b"

TINY = """\
[run]
name = "tiny"
seed = {seed}
device = "cpu"
threads = 1
log_interval = 2

[space]
name = "fbnet-cifar10"
width_mult = 0.25
proxy = true

[profile]
path = "{profile}"

[knobs]
alpha = 0.2
beta = 0.6
gamma = 0.2
delta = 0.3

[data]
name = "synthetic"
synthetic_train = 256
synthetic_test = 64
image_size = 16

[search]
mode = "{mode}"
epochs = {epochs}
warmup_epochs = 1
batch_size = 32
"""


def tiny_config(folder: Path, epochs: int = 2, seed: int = 0, mode: str = "sampled", name: str = "tiny.toml") -> Path:
    path = folder / name
    path.write_text(TINY.format(seed=seed, profile=PROFILE, mode=mode, epochs=epochs), encoding="utf-8")
    return path


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hanna_tui", *args],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hanna_tui", *args],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_table(path: Path) -> list[list[float]]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [[float(v) for v in row] for row in rows]


EIGHT = {0, 1, 5, 9, 13, 17, 21}  # layers without the skip candidate (first of their group)


def reference_tables() -> tuple[list[list[float]], list[list[float]]]:
    """Latency (s) and energy (J) tables: the authors' files when ../shared is there, else the shipped profile."""
    from hanna_tui.profiles import load_profile

    if REFERENCE.is_dir():
        return read_table(REFERENCE / "rpi_speed.txt"), read_table(REFERENCE / "new_rpi_energy.txt")
    profile = load_profile(PROFILE)
    return profile.latency.table, profile.energy.table  # type: ignore[union-attr]


def by_hand_uniform(table: list[list[float]]) -> float:
    """Expected cost at uniform theta, by hand: the mean of each layer's allowed cells, summed."""
    total = 0.0
    for i, row in enumerate(table):
        cells = row[:8] if i in EIGHT else row
        total += sum(cells) / len(cells)
    return total
