"""Measure a device profile: every candidate block of a space timed on the target by the agent.

Resumable: each measured block is written to a partial-state JSON beside the output as it
arrives; a dropped connection reconnects (a few times) and measures only what is missing, and
rerunning the same command after a failure does the same. The TOML is written only when the
table is complete.

A request with a stop flag (runtime.StopFlag) ends on SIGTERM/SIGINT by raising runtime.Cancelled: the
agent is ended on the target (runner.AgentSession), the temp folders go, the partial state keeps
every block measured so far (the same command resumes from it) and no TOML is written.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import TargetUnreachable, UserError
from ..fsutil import atomic_write_json, read_json
from ..profiles import DeviceProfile, LookupTable, Runtime, save_profile
from ..space import CANDIDATE_NAMES, SearchSpace, get_space
from .energy import EnergyConfig
from .runner import AgentSession, agent_hash, open_target, space_job
from .ssh import AuthError, DeadlineExceeded, HostKeyError

EXTRAS = ("stem", "head")
STATISTICS = ("p50", "min", "mean")
PARTIAL_SUFFIX = ".partial.json"
CALIB_NETWORKS = 12  # one per candidate (9) and a few random ones


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
    runtime: str = "torch"  # torch | onnxruntime
    precision: str = "fp32"  # fp32 | int8
    rounds: int = 8  # interleaved rounds per item; each statistic is the median over rounds (see the agent)

    @property
    def runtime_label(self) -> str:
        return self.runtime if self.precision == "fp32" else f"{self.runtime}-{self.precision}"

    def validate(self) -> None:
        from .artifacts import check_runtime

        check_runtime(self.runtime, self.precision)
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
        if self.rounds < 2:
            raise UserError(f"--rounds {self.rounds}: expected 2 or more (the repeatability compares the even and the odd rounds)")
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
    calib_networks: int = CALIB_NETWORKS  # whole networks measured to fit the calibration (0: none)
    stop: Any = None  # a runtime.StopFlag: once set, the measurement ends with runtime.Cancelled


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
    return {
        "target": req.connect.target,
        "space": req.space,
        "width_mult": req.width_mult,
        "bench": asdict(req.bench),
        "energy": req.energy.agent_spec(),
    }


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
    if [k for k in keys if k not in state["records"]]:
        _with_retries(
            req, state, keys, progress, lambda: _measure(req, space, state, [k for k in keys if k not in state["records"]], keys, progress)
        )
    if req.calib_networks >= 2 and "networks" not in state:
        _with_retries(req, state, keys, progress, lambda: _measure_networks(req, space, state, progress))
    _check_stop(req)  # a stop asked for now still writes nothing: the partial state holds it all
    profile = build_profile(req, space, state, time.monotonic() - started)
    header = (
        f"Device profile measured by hanna-tui profile on {req.connect.target} ({_now()}).\n"
        f"Runtime: {req.bench.runtime_label}. Latency: {req.bench.statistic} of the timed runs ({req.bench.clock} clock), the median over {req.bench.rounds} interleaved rounds;\n"
        "spread: p90/p50; repeatability: relative difference of the even and the odd rounds."
    )
    save_profile(profile, req.out, header=header)
    try:
        os.unlink(partial_path(req.out))
    except FileNotFoundError:
        pass
    return profile


def _with_retries(
    req: ProfileRequest, state: dict, keys: list[str], progress: ProgressCallback | None, measure: Callable[[], None]
) -> None:
    """One measurement, reconnecting after a connection that worked and then went away (a few times)."""
    attempt = 0
    while True:
        _check_stop(req)
        try:
            measure()
            return
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
            _notify(
                progress,
                Progress(kept, len(keys), "", message=f"{exc}; reconnecting ({attempt}/{req.connect.retries}), {kept} blocks kept"),
            )
            time.sleep(req.connect.retry_wait_s * attempt)


def _check_stop(req: ProfileRequest) -> None:
    if req.stop is not None:
        req.stop.check()


def _session(req: ProfileRequest, target: Any) -> AgentSession:
    session = AgentSession(target, req.connect.remote_python, req.connect.remote_dir, req.stop)
    session.ensure_agent()
    return session


def _onnx_blocks(req: ProfileRequest, space: SearchSpace, session: AgentSession, keys: list[str]) -> dict[str, str]:
    """Export every block to ONNX here (int8: quantized), upload one tar; the job fields that name it."""
    from .artifacts import block_archive
    from .deploy import upload_if_changed

    with tempfile.TemporaryDirectory(prefix="hanna-blocks-") as tmp:
        archive = block_archive(space, keys, Path(tmp), req.bench.precision)
        remote = f"{session.workdir}/onnx/blocks-{archive.sha256[:16]}.tar"
        upload_if_changed(session.target, archive.path, archive.sha256, remote)
    return {"archive": remote, "archive_dir": f"{session.workdir}/onnx/{archive.sha256[:16]}"}


def _measure(
    req: ProfileRequest, space: SearchSpace, state: dict, missing: list[str], keys: list[str], progress: ProgressCallback | None
) -> None:
    target = open_target(req.connect.target, req.connect.trust_new_host, req.connect.known_hosts)
    state["connected"] = True
    try:
        session = _session(req, target)
        state["probe"] = session.probe(req.bench.runtime)
        job = {
            "mode": "blocks",
            **space_job(space),
            "bench": asdict(req.bench),
            "energy": req.energy.agent_spec(),
            "extras": [k for k in missing if k in EXTRAS],
            "cells": [[int(v) for v in k.split(",")] for k in missing if k not in EXTRAS],
        }
        if req.bench.runtime == "onnxruntime":
            _notify(
                progress,
                Progress(len(state["records"]), len(keys), "", message=f"exporting {len(keys)} blocks to ONNX ({req.bench.precision})"),
            )
            job.update(_onnx_blocks(req, space, session, keys))
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


def _measure_networks(req: ProfileRequest, space: SearchSpace, state: dict, progress: ProgressCallback | None) -> None:
    """Measure a few whole networks (exported here for the runtime) and keep their latencies for the calibration."""
    from .calibration import calibration_archs
    from .deploy import upload_if_changed

    archs = calibration_archs(space, req.calib_networks)
    _notify(
        progress,
        Progress(len(state["records"]), len(state["records"]), "", message=f"measuring {len(archs)} whole networks for the calibration"),
    )
    target = open_target(req.connect.target, req.connect.trust_new_host, req.connect.known_hosts)
    state["connected"] = True
    try:
        session = _session(req, target)
        session.probe(req.bench.runtime)
        models = []
        with tempfile.TemporaryDirectory(prefix="hanna-calib-") as tmp:
            for number, choices in enumerate(archs):
                _check_stop(req)
                art = network_artifact(space, choices, req.bench, Path(tmp), f"net{number:02d}")
                remote = f"{session.workdir}/models/{art.sha256[:16]}{art.suffix}"
                upload_if_changed(session.target, art.path, art.sha256, remote)
                models.append({"name": f"net{number:02d}", "model_path": remote, "input_shape": art.input_shape})
        job = {"mode": "model", "models": models, "bench": asdict(req.bench), "energy": {"source": "none"}}
        doc = session.run_job(job, req.deadline_s or estimate_deadline(2 * len(models), req.bench))
    finally:
        target.close()
    stat = req.bench.statistic
    state["networks"] = [
        {"choices": choices, "latency_s": record["latency"][stat], "repeatability": (record.get("repeatability") or {}).get(stat, 0.0)}
        for choices, record in zip(archs, doc["models"], strict=True)
    ]
    atomic_write_json(partial_path(req.out), state)


def network_artifact(space: SearchSpace, choices: list[int], bench: BenchOptions, folder: Path, name: str) -> Any:
    """A childnet of the space in the runtime's format (random weights: latency does not depend on them)."""
    import torch

    from ..space.blocks import ChildNet
    from .artifacts import export_model

    torch.manual_seed(0)
    shape = [1, 3, space.input_size, space.input_size]
    return export_model(ChildNet(space, choices).eval(), shape, folder, bench.runtime, bench.precision, name=name)


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
    repeat = [[0.0] * cols for _ in range(rows)]
    energy: list[list[float]] | None = [[0.0] * cols for _ in range(rows)] if req.energy.enabled else None
    for layer in space.layers:
        for c in layer.allowed:
            rec = records[cell_key(layer.index, c)]
            lat = rec["latency"]
            main[layer.index][c] = lat[req.bench.statistic] * 1e3
            mean[layer.index][c] = lat["mean"] * 1e3
            spread[layer.index][c] = lat["p90"] / lat["p50"] if lat["p50"] > 0 else 1.0
            repeat[layer.index][c] = float((rec.get("repeatability") or {}).get(req.bench.statistic, 0.0))
            for (name, stat), table in clocks.items():
                table[layer.index][c] = rec.get(name, lat)[stat] * 1e3
            if energy is not None:
                energy[layer.index][c] = max(block_energy(req.energy, cell_key(layer.index, c), rec), 0.0) * 1e3
    board = state.get("board", {})
    profile = DeviceProfile(
        path=str(req.out),
        device=_device(req, board),
        space_name=space.name,
        input_shape=[req.bench.batch, 3, space.input_size, space.input_size],
        width_mult=space.width_mult,
        latency=LookupTable(
            "ms", main, f"{req.bench.statistic} ({req.bench.clock} clock) of the timed runs of one block forward at the layer's input shape"
        ),
        energy=LookupTable("mJ", energy, f"energy of one block forward ({req.energy.describe()})") if energy is not None else None,
        extra={
            "latency_mean": LookupTable("ms", mean, "mean of the timed runs"),
            **{
                f"latency_{name}_{stat}": LookupTable(
                    "ms", table, f"{stat} of the {'wall-clock (perf_counter)' if name == 'wall' else 'thread CPU-time'} timings"
                )
                for (name, stat), table in clocks.items()
            },
        },
        spread={"latency_p90_p50": spread, "latency_repeatability": repeat},
        measurement=_measurement(req, state, elapsed_s),
        provenance=_provenance(req, state),
        num_classes=space.num_classes,
        runtime=Runtime(
            req.bench.runtime,
            req.bench.precision,
            int(board.get("threads", req.bench.threads)),
            req.bench.jit if req.bench.runtime == "torch" else "",
        ),
    )
    if state.get("networks"):
        profile.calibration = fit_calibration(profile, state["networks"])
    return profile


def fit_calibration(profile: DeviceProfile, networks: list[dict[str, Any]]) -> dict[str, Any]:
    """The per-candidate calibration fitted on the measured whole networks, with their measurements."""
    from .calibration import fit_per_candidate

    archs = [[int(c) for c in net["choices"]] for net in networks]
    measured = [float(net["latency_s"]) for net in networks]
    cal = fit_per_candidate(profile.latency_s(), archs, measured)
    repeat = sorted(float(net.get("repeatability", 0.0)) for net in networks)
    data = cal.to_dict()
    data["repeatability"] = repeat[len(repeat) // 2]
    data["networks_ms"] = [round(m * 1e3, 6) for m in measured]
    data["networks"] = [",".join(str(c) for c in a) for a in archs]
    return data


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
        "machine": str(board.get("machine", "")),
        "cpus": int(board.get("cpus", 0) or 0),
        "hostname": str(board.get("hostname", "")),
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
        "runtime": req.bench.runtime,
        "precision": req.bench.precision,
        "rounds": req.bench.rounds,
        "repeatability_median": _median([float((r.get("repeatability") or {}).get(req.bench.statistic, 0.0)) for r in records.values()]),
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


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


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
        "runtime": f"{req.bench.runtime_label} {board.get('runtime_version', '')}".strip(),
        "runtime_version": str(board.get("runtime_version", "")),
        "onnxruntime": str(board.get("onnxruntime", "")),
        "numpy": str(board.get("numpy", "")),
        "started": str(state.get("started", "")),
        "finished": _now(),
    }
