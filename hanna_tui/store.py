"""The run store: one directory per run, the contract between processes.

    runs/<id>/run.json        kind (search | baseline), name, created; written once
    runs/<id>/config.toml     full config snapshot (profile path and content hash)
    runs/<id>/status.json     state, pid, host, started/ended, error, epoch, progress, latest metrics
    runs/<id>/metrics.jsonl   one JSON line per logging interval ("interval") and per epoch ("epoch")
    runs/<id>/theta.txt       latest theta (authors' format); theta/epoch_NNN.txt after every epoch
    runs/<id>/checkpoint.pt   written atomically every epoch
    runs/<id>/arch.json       sampled childnet (choices, predicted latency and energy)
    runs/<id>/train/          childnet training (its own status.json, metrics.jsonl, checkpoint)
    runs/<id>/deploy/*.json   one result per target and time

Every file is written atomically or appended as whole JSON lines.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .fsutil import append_jsonl, atomic_write_json, atomic_write_text, iter_jsonl, read_json

STATES = ("queued", "running", "done", "failed", "cancelled")
DEFAULT_ROOT = "runs"


def runs_root(root: str | os.PathLike | None = None) -> Path:
    return Path(root or os.environ.get("HANNA_RUNS", DEFAULT_ROOT))


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:40] or "run"


class Run:
    """Accessors for one run directory."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._events: Any = None

    def enable_events(self) -> None:
        """Also write every metric record (and theta images) as TensorBoard events under tensorboard/."""
        from .tboard import EventSink

        self._events = EventSink(self.path / "tensorboard")

    def close_events(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None

    def log_theta_image(self, step: int, probs: list[list[float]]) -> None:
        if self._events is not None:
            self._events.theta_image(step, probs)

    @property
    def id(self) -> str:
        return self.path.name

    # files
    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def theta_path(self) -> Path:
        return self.path / "theta.txt"

    @property
    def arch_path(self) -> Path:
        return self.path / "arch.json"

    def exists(self) -> bool:
        return (self.path / "run.json").is_file()

    def meta(self) -> dict[str, Any]:
        return read_json(self.path / "run.json", {}) or {}

    def status(self) -> dict[str, Any]:
        return read_json(self.status_path, {}) or {}

    def update_status(self, **changes: Any) -> dict[str, Any]:
        status = self.status()
        status.update(changes)
        status["updated"] = now_iso()
        atomic_write_json(self.status_path, status)
        return status

    def log_metrics(self, record: dict[str, Any]) -> None:
        record.setdefault("time", time.time())
        append_jsonl(self.metrics_path, record)
        if self._events is not None:
            self._events.scalars(int(record.get("step", record.get("epoch", 0)) or 0), event_scalars(record))

    def metrics(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [r for r in iter_jsonl(self.metrics_path) if kind is None or r.get("kind") == kind]

    def arch(self) -> dict[str, Any] | None:
        return read_json(self.arch_path)

    def write_config_text(self, text: str) -> None:
        atomic_write_text(self.config_path, text)

    def deploy_results(self) -> list[dict[str, Any]]:
        out = []
        for p in sorted((self.path / "deploy").glob("*.json")):
            data = read_json(p)
            if isinstance(data, dict):
                out.append(data)
        return out

    def train_status(self) -> dict[str, Any]:
        return read_json(self.path / "train" / "status.json", {}) or {}

    def effective_state(self, status: dict[str, Any] | None = None) -> str:
        """The stored state, but 'interrupted' when it says running and its process is gone."""
        status = self.status() if status is None else status
        state = status.get("state", "queued")
        if state == "running" and status.get("host") == socket.gethostname() and not pid_alive(status.get("pid")):
            return "interrupted"
        return state


def event_scalars(record: dict[str, Any]) -> dict[str, float]:
    """TensorBoard tags of a metric record: KIND/PHASE/NAME (interval/theta/loss, epoch/eval/acc, ...)."""
    prefix = "/".join(str(record[k]) for k in ("kind", "phase") if record.get(k))
    skip = {"kind", "phase", "step", "epoch", "time"}
    return {
        f"{prefix}/{key}": value
        for key, value in record.items()
        if key not in skip and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def create_run(name: str, kind: str = "search", root: str | os.PathLike | None = None, extra: dict | None = None) -> Run:
    """A new run directory with run.json and a queued status."""
    base = runs_root(root)
    base.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        path = base / f"{stamp}-{_slug(name)}{suffix}"
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover
        raise RuntimeError("could not allocate a run directory")
    run = Run(path)
    meta = {"id": run.id, "kind": kind, "name": name, "created": now_iso(), **(extra or {})}
    atomic_write_json(path / "run.json", meta)
    run.update_status(state="queued")
    return run


def create_run_at(path: str | os.PathLike, name: str, kind: str = "search", extra: dict | None = None) -> Run:
    """A run directory at a given path (created if needed) with run.json and a queued status."""
    run = Run(path)
    run.path.mkdir(parents=True, exist_ok=True)
    meta = {"id": run.id, "kind": kind, "name": name, "created": now_iso(), **(extra or {})}
    atomic_write_json(run.path / "run.json", meta)
    run.update_status(state="queued")
    return run


@dataclass
class RunSummary:
    """What lists and tables show of a run, read from small files only."""

    id: str
    path: str
    kind: str
    name: str
    state: str
    created: str
    updated: str = ""
    epoch: int = 0
    total_epochs: int = 0
    progress: float = 0.0
    knobs: dict[str, float] = field(default_factory=dict)
    space: str = ""
    mode: str = ""
    device: str = ""
    profile: str = ""
    pred_latency_s: float | None = None
    pred_energy_j: float | None = None
    search_acc: float | None = None
    top1: float | None = None
    params: int | None = None
    macs: int | None = None
    measured_latency_s: float | None = None
    measured_energy_j: float | None = None
    target: str = ""
    error: str = ""
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def summarize(run: Run) -> RunSummary:
    meta = run.meta()
    status = run.status()
    latest = status.get("latest", {}) or {}
    arch = run.arch() or {}
    predicted = arch.get("predicted", {}) if isinstance(arch, dict) else {}
    train = run.train_status()
    summary = RunSummary(
        id=run.id,
        path=str(run.path),
        kind=meta.get("kind", "search"),
        name=meta.get("name", run.id),
        state=run.effective_state(status),
        created=meta.get("created", ""),
        updated=status.get("updated", ""),
        epoch=int(status.get("epoch", 0) or 0),
        total_epochs=int(status.get("total_epochs", 0) or 0),
        progress=float(status.get("progress", 0.0) or 0.0),
        knobs=dict(meta.get("knobs", {})),
        space=meta.get("space", ""),
        mode=meta.get("mode", ""),
        device=meta.get("device", ""),
        profile=meta.get("profile", ""),
        pred_latency_s=predicted.get("latency_s", latest.get("lat")),
        pred_energy_j=predicted.get("energy_j", latest.get("ener")),
        search_acc=status.get("best_acc", latest.get("acc")),
        top1=train.get("top1", status.get("top1")),
        params=train.get("params", status.get("params")),
        macs=train.get("macs", status.get("macs")),
        error=status.get("error", "") or "",
        pid=status.get("pid"),
    )
    deploys = run.deploy_results()
    if deploys:
        last = deploys[-1]
        summary.measured_latency_s = last.get("measured", {}).get("latency_s")
        summary.measured_energy_j = last.get("measured", {}).get("energy_j")
        summary.target = last.get("target", "")
    return summary


def list_runs(root: str | os.PathLike | None = None) -> list[RunSummary]:
    """Every run under the root, running ones first, then newest first."""
    base = runs_root(root)
    if not base.is_dir():
        return []
    runs = [summarize(Run(p)) for p in base.iterdir() if p.is_dir() and (p / "run.json").is_file()]
    runs.sort(key=lambda s: s.id, reverse=True)
    runs.sort(key=lambda s: 0 if s.state == "running" else 1)
    return runs


def find_run(ref: str, root: str | os.PathLike | None = None) -> Run:
    """A run by path or by id (or unique id prefix) under the root."""
    from .errors import UserError

    path = Path(ref)
    if (path / "run.json").is_file():
        return Run(path)
    base = runs_root(root)
    if (base / ref / "run.json").is_file():
        return Run(base / ref)
    matches = [p for p in base.glob(f"{ref}*") if (p / "run.json").is_file()] if base.is_dir() else []
    if len(matches) == 1:
        return Run(matches[0])
    if len(matches) > 1:
        raise UserError(f"{ref}: ambiguous run id (matches {', '.join(sorted(m.name for m in matches)[:5])})")
    raise UserError(f"{ref}: not a run directory (expected a path holding run.json, or a run id under {base})")
