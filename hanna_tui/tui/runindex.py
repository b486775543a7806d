"""Following run directories cheaply: summaries cached by file mtimes, metrics tailed by offset.

No textual here: the screens poll these objects from set_interval timers.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fsutil import read_increment
from ..store import RUN_FILE, WATCHED, Run, RunSummary, is_run_dir, run_folders, runs_root, summarize

ACTIVE_STATES = ("queued", "running", "interrupted")
FULL_EVERY = 30  # ticks between full rescans (finished runs can still gain a deploy result or a training)


ROLL = 2  # finished runs are re-stat'ed in ROLL slices, one per poll


def _active(summary: RunSummary) -> bool:
    """A run whose search or training may still change on disk."""
    return summary.state in ACTIVE_STATES or summary.train_state in ACTIVE_STATES


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def signature(run_dir: str) -> tuple[int, ...]:
    return tuple(_mtime(os.path.join(run_dir, name)) for name in WATCHED)


@dataclass
class _Entry:
    sig: tuple[int, ...]
    summary: RunSummary


@dataclass
class RunIndex:
    """Summaries of every run under a root; refresh() re-reads only what changed on disk."""

    root: Path | None = None
    entries: dict[str, _Entry] = field(default_factory=dict)
    version: int = 0
    _ticks: int = 0
    _root_mtime: int = -1
    _pending: bool = False  # a run directory without its metadata yet (being created)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def base(self) -> Path:
        """The runs directory this index follows."""
        return runs_root(self.root)

    def refresh(self, full: bool = False) -> bool:
        """Rescan; returns True when anything changed. Only active runs are re-stat'ed unless full.

        Safe to call from a worker thread: the entries dict is rebuilt and swapped in whole.
        """
        with self._lock:
            return self._refresh(full)

    def _refresh(self, full: bool) -> bool:
        self._ticks += 1
        full = full or not self.entries or self._ticks % FULL_EVERY == 0
        root_mtime = _mtime(str(self.base()))
        if not full and root_mtime == self._root_mtime and not self._pending:
            return self._refresh_active()
        self._root_mtime = root_mtime
        changed = False
        seen = set()
        old = self.entries
        new: dict[str, _Entry] = {}
        try:
            scan = run_folders(self.base())
        except OSError:
            scan = []
        self._pending = False
        for item in scan:
            if not is_run_dir(item.path) and not os.path.lexists(os.path.join(item.path, RUN_FILE)):  # a broken run.json is a marked row
                self._pending = True
                continue
            seen.add(item.name)
            entry = old.get(item.name)
            new[item.name] = entry  # type: ignore[assignment]
            if entry is not None and not full and not _active(entry.summary):
                continue
            sig = signature(item.path)
            if entry is None or entry.sig != sig or entry.summary.state in ("running", "interrupted"):
                summary = summarize(Run(item.path))
                if entry is None or entry.summary != summary:
                    changed = True
                new[item.name] = _Entry(sig, summary)
        if set(old) - seen:
            changed = True
        self.entries = new
        if changed:
            self.version += 1
        return changed

    def _refresh_active(self) -> bool:
        """No run directory came or went (the root's mtime is unchanged): re-read only active runs."""
        changed = False
        new = dict(self.entries)
        for i, (name, entry) in enumerate(self.entries.items()):
            if not _active(entry.summary) and i % ROLL != self._ticks % ROLL:
                continue  # a finished run is re-checked every ROLL polls (a deploy result, a training)
            path = entry.summary.path
            sig = signature(path)
            if entry.sig != sig or entry.summary.state in ("running", "interrupted"):
                summary = summarize(Run(path))
                if summary != entry.summary:
                    changed = True
                new[name] = _Entry(sig, summary)
        self.entries = new
        if changed:
            self.version += 1
        return changed

    def summaries(self) -> list[RunSummary]:
        """Running first, then newest first (the store's order)."""
        runs = sorted((e.summary for e in self.entries.values()), key=lambda s: s.id, reverse=True)
        runs.sort(key=lambda s: 0 if s.state == "running" else 1)
        return runs

    def get(self, run_id: str) -> RunSummary | None:
        entry = self.entries.get(run_id)
        return entry.summary if entry else None


@dataclass
class MetricsFollower:
    """Tail of a run's metrics (Run.metrics_path): reads only the bytes appended since the last poll."""

    path: Path
    offset: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    _inode: int = 0

    def poll(self) -> bool:
        """Read what was appended; the first read of a large history takes only its last 8 MB
        (fsutil.read_increment: regular files only, never through a symlink)."""
        step = read_increment(self.path, self.offset, self._inode)
        if step is None:
            return False
        if step.reset:
            self.records = []
        self.offset, self._inode = step.offset, step.inode
        self.records.extend(step.records)
        return bool(step.records)

    def series(self, kind: str, key: str) -> tuple[list[float], list[float]]:
        """(x, y) of one metric for records of a kind; x is the epoch (fractional for intervals).

        A search writes several epoch records per epoch (theta, weights, eval phases): the epoch
        curve keeps one point per epoch, the test accuracy of the eval record for "acc" and the
        last training phase for the other metrics, so phases do not zigzag into one line.
        """
        if kind == "epoch":
            return self._epoch_series(key)
        xs: list[float] = []
        ys: list[float] = []
        for i, r in enumerate(self.records):
            if r.get("kind") != kind or not isinstance(r.get(key), (int, float)):
                continue
            xs.append(_x_of(r, i, kind))
            ys.append(float(r[key]))
        return xs, ys

    def _epoch_series(self, key: str) -> tuple[list[float], list[float]]:
        chosen: dict[float, tuple[int, float]] = {}
        for i, r in enumerate(self.records):
            if r.get("kind") != "epoch" or not isinstance(r.get(key), (int, float)):
                continue
            x = _x_of(r, i, "epoch")
            rank = _phase_rank(key, r.get("phase"))
            if x not in chosen or rank >= chosen[x][0]:
                chosen[x] = (rank, float(r[key]))
        xs = sorted(chosen)
        return xs, [chosen[x][1] for x in xs]


def _phase_rank(key: str, phase: Any) -> int:
    """Which record of an epoch stands for it: eval for accuracy, training phases for the rest."""
    if phase == "eval":
        return 2 if key == "acc" else 0
    return 1


def _x_of(record: dict[str, Any], index: int, kind: str) -> float:
    epoch = record.get("epoch")
    if kind == "epoch" and isinstance(epoch, (int, float)):
        return float(epoch)
    step = record.get("step")
    if isinstance(step, (int, float)):
        return float(step)
    return float(index)
