"""Fake run directories with deterministic content, for the TUI tests and snapshots (not a test module).

They follow the run-directory contract (store.py) exactly as the search process writes it.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from hanna_tui.fsutil import atomic_write_json, atomic_write_text
from hanna_tui.space import get_space
from hanna_tui.theta import format_theta
from hanna_tui.tui.paths import default_profile_path

FIXTURE_HOST = "fixture-host"  # not this machine, so a "running" fixture stays running


def fake_theta(seed: int, sharpness: float) -> list[list[float]]:
    rng = random.Random(seed)
    space = get_space("fbnet-cifar10")
    rows = []
    for layer in space.layers:
        row = [0.0] * 9
        for j in layer.allowed:
            row[j] = rng.gauss(0, 1) * sharpness
        rows.append(row)
    return rows


def fake_metrics(epochs: int, intervals: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    step = 0
    for epoch in range(epochs):
        for k in range(intervals):
            step += 5
            t = epoch + (k + 1) / intervals
            loss = 2.3 * math.exp(-0.25 * t) + 0.4 + rng.random() * 0.05
            out.append(_record("interval", epoch, step, t, loss))
        out.append(_record("epoch", epoch, step, epoch + 1.0, 2.3 * math.exp(-0.25 * (epoch + 1)) + 0.4))
    return out


def _record(kind: str, epoch: int, step: int, t: float, loss: float) -> dict[str, Any]:
    return {
        "kind": kind,
        "epoch": epoch,
        "step": step,
        "phase": "theta" if epoch >= 2 else "warmup",
        "loss": round(loss, 6),
        "ce": round(loss - 0.35, 6),
        "lat": round(3.9 - 0.12 * t, 6),
        "ener": round(18.0 - 1.1 * t, 6),
        "acc": round(min(0.95, 0.1 + 0.08 * t), 6),
        "temperature": round(5.0 * 0.956**epoch, 6),
        "lr": 0.05,
        "images_per_s": 400.0,
        "time": 1_700_000_000 + step,
    }


def make_run(
    root: Path,
    run_id: str,
    *,
    state: str = "done",
    kind: str = "search",
    knobs: tuple[float, float, float, float] = (0.2, 0.6, 0.2, 0.3),
    epochs_done: int = 4,
    total_epochs: int = 4,
    seed: int = 0,
    created: str | None = None,
    intervals: int = 3,
    acc: float | None = None,
    measured: tuple[float, float] | None = None,
    profile: str | None = None,
    metrics: bool = True,
    train: dict[str, Any] | None = None,
) -> Path:
    """One run directory; all content derives from the arguments (no clocks, no randomness)."""
    path = root / run_id
    path.mkdir(parents=True, exist_ok=True)
    created = created or _created_from_id(run_id)
    profile = profile or str(default_profile_path().resolve())
    alpha, beta, gamma, delta = knobs
    meta = {
        "id": run_id,
        "kind": kind,
        "name": run_id.split("-", 2)[-1],
        "created": created,
        "knobs": {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta},
        "space": "fbnet-cifar10",
        "mode": "sampled",
        "device": "rpi3b",
        "profile": profile,
    }
    if kind == "baseline":
        meta.pop("knobs")
    atomic_write_json(path / "run.json", meta)
    atomic_write_text(path / "config.toml", _config_text(profile, knobs, total_epochs, seed))
    records = fake_metrics(epochs_done, intervals, seed) if metrics else []
    last = records[-1] if records else {}
    status = {
        "state": state,
        "pid": 4_000_000 + seed,
        "host": FIXTURE_HOST,
        "epoch": epochs_done,
        "total_epochs": total_epochs,
        "progress": epochs_done / total_epochs if total_epochs else 0.0,
        "latest": {k: last[k] for k in ("loss", "ce", "lat", "ener", "acc", "temperature") if k in last},
        "best_acc": acc if acc is not None else last.get("acc"),
        "updated": created,
    }
    atomic_write_json(path / "status.json", status)
    if records:
        (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        atomic_write_text(path / "theta.txt", format_theta(fake_theta(seed, 0.5 + epochs_done)))
    if records and state == "done":
        _write_arch(path, profile, seed, epochs_done)
    if train:
        atomic_write_json(path / "train" / "status.json", train)
    if measured:
        atomic_write_json(
            path / "deploy" / "20260101-000000.json",
            {"target": "pi@rpi3b", "measured": {"latency_s": measured[0], "energy_j": measured[1]}},
        )
    return path


def _created_from_id(run_id: str) -> str:
    d, t = run_id[:8], run_id[9:15]
    if d.isdigit() and t.isdigit():
        return f"{d[:4]}-{d[4:6]}-{d[6:8]}T{t[:2]}:{t[2:4]}:{t[4:6]}+00:00"
    return "2026-01-01T00:00:00+00:00"


def _write_arch(path: Path, profile_path: str, seed: int, epochs_done: int) -> None:
    from hanna_tui.profiles import load_profile
    from hanna_tui.sampling import sample_arch, write_arch

    arch = sample_arch(fake_theta(seed, 0.5 + epochs_done), get_space("fbnet-cifar10"), load_profile(profile_path))
    arch["created"] = "2026-01-01T00:00:00+00:00"
    write_arch(path / "arch.json", arch)


def _config_text(profile: str, knobs: tuple[float, float, float, float], epochs: int, seed: int) -> str:
    from hanna_tui.config import demo_config
    from hanna_tui.knobs import Knobs

    cfg = demo_config()
    cfg.profile.path = profile
    cfg.knobs = Knobs(*knobs)
    cfg.search.epochs = max(epochs, cfg.search.warmup_epochs)
    cfg.run.seed = seed
    return cfg.to_toml()


def make_fixture_set(root: Path) -> list[Path]:
    """A small, varied, deterministic set: running, done, failed, cancelled, baseline."""
    return [
        make_run(root, "20260105-120000-alpha-sweep-a", state="running", knobs=(0.4, 0.6, 0.2, 0.3), epochs_done=3, total_epochs=8, seed=1),
        make_run(
            root,
            "20260104-110000-energy-heavy",
            state="done",
            knobs=(0.1, 0.6, 0.8, 0.6),
            epochs_done=8,
            total_epochs=8,
            seed=2,
            measured=(2.91, 9.8),
            train={"state": "done", "top1": 0.874, "params": 2_100_000, "macs": 61_000_000},
        ),
        make_run(root, "20260103-100000-latency-heavy", state="done", knobs=(0.9, 1.0, 0.05, 0.3), epochs_done=8, total_epochs=8, seed=3),
        make_run(root, "20260102-090000-broken", state="failed", knobs=(0.2, 0.6, 0.2, 0.3), epochs_done=1, total_epochs=8, seed=4),
        make_run(root, "20260101-080000-stopped", state="cancelled", knobs=(0.2, 0.3, 0.2, 0.3), epochs_done=2, total_epochs=8, seed=5),
        make_run(
            root,
            "20251231-070000-mobilenetv2",
            kind="baseline",
            state="done",
            knobs=(0, 0, 0, 0),
            epochs_done=0,
            total_epochs=0,
            seed=6,
            acc=0.912,
            metrics=False,
            measured=(4.2, 21.5),
            train={"state": "done", "top1": 0.912, "params": 2_300_000, "macs": 94_000_000},
        ),
    ]
