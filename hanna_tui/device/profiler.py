"""Measure a device profile: every candidate block of a space timed on the target by the agent.

Resumable: each measured block is written to a partial-state JSON beside the output as it
arrives; a dropped connection reconnects (a few times) and measures only what is missing, and
rerunning the same command after a failure does the same. The TOML is written only when the
table is complete.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import TargetUnreachable, UserError
from ..fsutil import atomic_write_json, read_json
from ..profiles import DeviceProfile, LookupTable, save_profile
from ..space import CANDIDATE_NAMES, SearchSpace, get_space
from .energy import EnergyConfig
from .runner import AgentSession, agent_hash, open_target, space_job
from .ssh import AuthError, DeadlineExceeded, HostKeyError

EXTRAS = ("stem", "head")
STATISTICS = ("p50", "min", "mean")
PARTIAL_SUFFIX = ".partial.json"


@dataclass
class BenchOptions:
    threads: int = 1
    warmup_runs: int = 5
    warmup_s: float = 0.05
    min_runs: int = 50
    min_s: float = 0.2
    max_s: float = 5.0
    batch: int = 1
    jit: str = "freeze"
    clock: str = "wall"
    statistic: str = "p50"

    def validate(self) -> None:
        if self.jit not in ("eager", "trace", "freeze"):
            raise UserError(f"--jit {self.jit!r}: expected eager, trace or freeze")
        if self.statistic not in STATISTICS:
            raise UserError(f"--statistic {self.statistic!r}: expected one of {', '.join(STATISTICS)}")
        if self.clock not in ("wall", "cpu"):
            raise UserError(f"--clock {self.clock!r}: expected wall or cpu")
        if self.clock == "cpu" and self.threads != 1:
            raise UserError("--clock cpu measures one thread's CPU time: use it with --threads 1")
        for name in ("warmup_runs", "min_runs", "batch"):
            if getattr(self, name) < (1 if name != "warmup_runs" else 0):
                raise UserError(f"--{name.replace('_', '-')}: expected a positive integer, got {getattr(self, name)}")
        if self.min_s < 0 or self.warmup_s < 0 or self.max_s <= 0 or self.threads < 0:
            raise UserError("--min-time/--warmup-time must be >= 0, --max-time > 0, --threads >= 0")


@dataclass
class ConnectOptions:
    target: str
    remote_python: str | None = None
    trust_new_host: bool = False
    known_hosts: str = ""
    retries: int = 3
    retry_wait_s: float = 2.0
    remote_dir: str | None = None


@dataclass
class ProfileRequest:
    connect: ConnectOptions
    out: Path
    space: str = "fbnet-cifar10"
    width_mult: float = 1.0
    bench: BenchOptions = field(default_factory=BenchOptions)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    device_name: str = ""
    deadline_s: float | None = None


@dataclass
class Progress:
    done: int
    total: int
    key: str
    latency_s: float | None = None
    message: str = ""


ProgressCallback = Callable[[Progress], None]


def cell_key(layer: int, cand: int) -> str:
    return f"{layer},{cand}"


def all_keys(space: SearchSpace) -> list[str]:
    return list(EXTRAS) + [cell_key(layer.index, c) for layer in space.layers for c in layer.allowed]


def partial_path(out: Path) -> Path:
    return out.with_name(out.name + PARTIAL_SUFFIX)


def state_key(req: ProfileRequest) -> dict[str, Any]:
    """What must match for measured blocks to be reused."""
    return {"target": req.connect.target, "space": req.space, "width_mult": req.width_mult, "bench": asdict(req.bench),
            "energy": req.energy.agent_spec()}


def load_state(req: ProfileRequest) -> dict[str, Any]:
    state = read_json(partial_path(req.out))
    if isinstance(state, dict) and state.get("key") == state_key(req) and isinstance(state.get("records"), dict):
        state["connected"] = False  # this invocation has not connected yet
        return state
    return {"key": state_key(req), "records": {}, "started": _now(), "attempts": 0}


def profile_target(req: ProfileRequest, progress: ProgressCallback | None = None) -> DeviceProfile:
    """Measure the whole table (resuming from the partial state) and write req.out."""
    req.bench.validate()
    space = get_space(req.space, req.width_mult)
    keys = all_keys(space)
    state = load_state(req)
    started = time.monotonic()
    attempt = 0
    while True:
        missing = [k for k in keys if k not in state["records"]]
        if not missing:
            break
        try:
            _measure(req, space, state, missing, keys, progress)
        except (HostKeyError, AuthError):
            raise
        except DeadlineExceeded as exc:  # retrying would hit the same deadline
            raise DeadlineExceeded(f"{exc}{_kept_note(req, state, keys, 'with a larger --deadline')}") from None
        except TargetUnreachable as exc:
            attempt += 1
            # only a connection that worked and then went away is retried, not a first connect
            if attempt > req.connect.retries or not state.get("connected"):
                raise TargetUnreachable(f"{exc}{_kept_note(req, state, keys, 'the same command')}") from None
            kept = len(state["records"])
            _notify(progress, Progress(kept, len(keys), "", message=f"{exc}; reconnecting ({attempt}/{req.connect.retries}), {kept} blocks kept"))
            time.sleep(req.connect.retry_wait_s * attempt)
    profile = build_profile(req, space, state, time.monotonic() - started)
    header = (f"Device profile measured by hanna-tui profile on {req.connect.target} ({_now()}).\n"
              f"Latency: {req.bench.statistic} of the timed runs ({req.bench.clock} clock); spread: p90/p50.")
    save_profile(profile, req.out, header=header)
    try:
        os.unlink(partial_path(req.out))
    except FileNotFoundError:
        pass
    return profile


def _measure(req: ProfileRequest, space: SearchSpace, state: dict, missing: list[str], keys: list[str], progress: ProgressCallback | None) -> None:
    target = open_target(req.connect.target, req.connect.trust_new_host, req.connect.known_hosts)
    state["connected"] = True
    try:
        session = AgentSession(target, req.connect.remote_python, req.connect.remote_dir)
        session.ensure_agent()
        state["probe"] = session.probe()
        job = {"mode": "blocks", **space_job(space), "bench": asdict(req.bench), "energy": req.energy.agent_spec(),
               "extras": [k for k in missing if k in EXTRAS],
               "cells": [[int(v) for v in k.split(",")] for k in missing if k not in EXTRAS]}
        state["attempts"] = state.get("attempts", 0) + 1

        def on_event(event: dict) -> None:
            if event.get("event") != "block":
                return
            record = event["record"]
            key = record["key"] if record["kind"] == "extra" else cell_key(*record["key"])
            state["records"][key] = record
            atomic_write_json(partial_path(req.out), state)
            _notify(progress, Progress(len(state["records"]), len(keys), key, record["latency"][req.bench.statistic]))

        deadline = req.deadline_s or estimate_deadline(len(missing), req.bench)
        doc = session.run_job(job, deadline, on_event)
        state["board"] = doc.get("board", {})
        state.setdefault("thermal_before", doc.get("thermal_before", {}))
        state["thermal_after"] = doc.get("thermal_after", {})
        state["agent_sha256"] = session.hash
        atomic_write_json(partial_path(req.out), state)
    finally:
        target.close()


def _kept_note(req: ProfileRequest, state: dict, keys: list[str], how: str) -> str:
    kept = len(state["records"])
    if not kept or not partial_path(req.out).exists():
        return ""
    return f" -- {kept}/{len(keys)} blocks kept in {partial_path(req.out)}; rerun {how} to resume"


def estimate_deadline(blocks: int, bench: BenchOptions) -> float:
    per_block = bench.warmup_s + 2 * bench.max_s + 3
    return 120 + blocks * per_block


def _notify(progress: ProgressCallback | None, event: Progress) -> None:
    if progress:
        progress(event)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def build_profile(req: ProfileRequest, space: SearchSpace, state: dict, elapsed_s: float) -> DeviceProfile:
    records = state["records"]
    rows, cols = space.num_layers, len(CANDIDATE_NAMES)
    main = [[0.0] * cols for _ in range(rows)]
    mean = [[0.0] * cols for _ in range(rows)]
    clocks = {(name, stat): [[0.0] * cols for _ in range(rows)] for name in ("wall", "cpu") for stat in ("p50", "min")}
    spread = [[0.0] * cols for _ in range(rows)]
    energy: list[list[float]] | None = [[0.0] * cols for _ in range(rows)] if req.energy.enabled else None
    for layer in space.layers:
        for c in layer.allowed:
            rec = records[cell_key(layer.index, c)]
            lat = rec["latency"]
            main[layer.index][c] = lat[req.bench.statistic] * 1e3
            mean[layer.index][c] = lat["mean"] * 1e3
            spread[layer.index][c] = lat["p90"] / lat["p50"] if lat["p50"] > 0 else 1.0
            for (name, stat), table in clocks.items():
                table[layer.index][c] = rec.get(name, lat)[stat] * 1e3
            if energy is not None:
                energy[layer.index][c] = max(block_energy(req.energy, cell_key(layer.index, c), rec), 0.0) * 1e3
    board = state.get("board", {})
    return DeviceProfile(
        path=str(req.out),
        device=_device(req, board),
        space_name=space.name,
        input_shape=[req.bench.batch, 3, space.input_size, space.input_size],
        width_mult=space.width_mult,
        latency=LookupTable("ms", main, f"{req.bench.statistic} ({req.bench.clock} clock) of the timed runs of one block forward at the layer's input shape"),
        energy=LookupTable("mJ", energy, f"energy of one block forward ({req.energy.describe()})") if energy is not None else None,
        extra={
            "latency_mean": LookupTable("ms", mean, "mean of the timed runs"),
            **{
                f"latency_{name}_{stat}": LookupTable("ms", table, f"{stat} of the {'wall-clock (perf_counter)' if name == 'wall' else 'thread CPU-time'} timings")
                for (name, stat), table in clocks.items()
            },
        },
        spread={"latency_p90_p50": spread},
        measurement=_measurement(req, state, elapsed_s),
        provenance=_provenance(req, state),
    )


def block_energy(cfg: EnergyConfig, key: str, record: dict) -> float:
    if cfg.source == "paper":
        return cfg.paper_energy(key, record["latency"]["mean"])
    value = (record.get("energy") or {}).get("energy_j")
    return float(value) if value is not None else 0.0


def _device(req: ProfileRequest, board: dict) -> dict[str, Any]:
    name = req.device_name or board.get("model") or req.connect.target
    return {
        "name": str(name),
        "description": f"{board.get('model', '?')} ({board.get('machine', '?')}, {board.get('cpus', '?')} CPUs) measured over {req.connect.target}",
        "board": str(board.get("model", "")),
        "cpu": str(board.get("cpu", "")),
    }


def _measurement(req: ProfileRequest, state: dict, elapsed_s: float) -> dict[str, Any]:
    records = state["records"]
    board = state.get("board", {})
    out: dict[str, Any] = {
        "tool": "hanna-tui profile",
        "date": _now(),
        "target": req.connect.target,
        "statistic": req.bench.statistic,
        "threads": int(board.get("threads", req.bench.threads)),
        "batch": req.bench.batch,
        "warmup_runs": req.bench.warmup_runs,
        "warmup_s": req.bench.warmup_s,
        "min_runs": req.bench.min_runs,
        "min_s": req.bench.min_s,
        "max_s": req.bench.max_s,
        "jit": req.bench.jit,
        "clock": req.bench.clock,
        "energy_source": req.energy.describe(),
        "elapsed_s": round(elapsed_s, 3),
        "attempts": int(state.get("attempts", 1)),
        "governor": str(board.get("governor") or "n/a"),
        "thermal_before": _flat(state.get("thermal_before", {})),
        "thermal_after": _flat(state.get("thermal_after", {})),
    }
    for name in EXTRAS:
        if name in records:
            out[f"{name}_ms"] = records[name]["latency"][req.bench.statistic] * 1e3
            for clock in ("wall", "cpu"):
                if clock in records[name]:
                    out[f"{name}_{clock}_ms"] = records[name][clock]["p50"] * 1e3
                    out[f"{name}_{clock}_min_ms"] = records[name][clock]["min"] * 1e3
    return out


def _flat(data: dict) -> dict[str, Any]:
    return {k: v for k, v in data.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}


def _provenance(req: ProfileRequest, state: dict) -> dict[str, Any]:
    board = state.get("board", {})
    return {
        "source": f"measured with hanna-tui profile (on-device agent sha256 {state.get('agent_sha256', agent_hash())[:16]})",
        "target": req.connect.target,
        "board_model": str(board.get("model", "")),
        "machine": str(board.get("machine", "")),
        "os": str(board.get("os", "")),
        "python": str(board.get("python", "")),
        "torch": str(board.get("torch", "")),
        "started": str(state.get("started", "")),
        "finished": _now(),
    }
