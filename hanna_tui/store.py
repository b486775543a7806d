"""The run store: one directory per run, the contract between processes.

    runs/<id>/run.json        kind (search | baseline), name, created, origin, data, ...; written once
                              by write_meta (the same keys for every run of a kind, see META_KEYS)
    runs/<id>/config.toml     full config snapshot (profile path and content hash)
    runs/<id>/status.json     state, pid, host, pid_start, started/ended, error, epoch, progress, latest
    runs/<id>/.lock           held (flock) by the one process working on the run: pid, host, start
    runs/<id>/metrics.jsonl   one JSON line per logging interval ("interval") and per epoch ("epoch")
    runs/<id>/theta.txt       latest theta (authors' format); theta/epoch_NNN.txt after every epoch
    runs/<id>/checkpoint.pt   written atomically every epoch
    runs/<id>/arch.json       sampled childnet (choices, predicted latency and energy)
    runs/<id>/train/          training of the childnet or of the baseline (its own status.json,
                              metrics.jsonl, checkpoint.pt, model.pt, model.json)
    runs/<id>/deploy/*.json   one result per target and time
    runs/<id>/export/         `hanna-tui export`'s default output (model.pt, model.onnx)

Permissions: every file of a run directory is created 0600 (owner only), atomic writes and
appended JSON lines alike (fsutil.FILE_MODE); a symlink is never written through or read.
Every file is written atomically or appended as whole JSON lines. Other modules reach these files
through Run's accessors, never by name; runs written by the previous version (baselines trained
in the run directory itself, `data` as a plain string) read through the same accessors.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import UserError
from .fsutil import (
    Unreadable,
    append_jsonl,
    atomic_write_json,
    atomic_write_text,
    check_jsonl_tail,
    finite_or_none,
    iter_jsonl,
    load_json,
    read_json,
)

STATES = ("queued", "running", "done", "failed", "cancelled")
DEFAULT_ROOT = "runs"

# the names of the run directory (nothing outside this module spells them)
RUN_FILE = "run.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
LOCK_FILE = ".lock"
TRAIN_DIR = "train"
DEPLOY_DIR = "deploy"
EXPORT_DIR = "export"
ARCH_FILE = "arch.json"
MODEL_FILE = "model.pt"
SPEC_FILE = "model.json"
CHECKPOINT_FILE = "checkpoint.pt"
# what a change of shows that a run changed (the dashboard stats these, relative to the run directory)
WATCHED = (RUN_FILE, STATUS_FILE, ARCH_FILE, f"{TRAIN_DIR}/{STATUS_FILE}", DEPLOY_DIR)

# run.json: the same keys for every run of a kind, whichever front end started it
COMMON_META_KEYS = ("id", "kind", "name", "created", "origin", "data")
META_KEYS = {
    "search": COMMON_META_KEYS + ("knobs", "loss_form", "space", "width_mult", "mode", "device", "profile", "profile_hash", "proxy"),
    "baseline": COMMON_META_KEYS + ("model", "variant", "label", "num_classes", "input_size"),
}
ORIGINS = ("cli", "tui", "batch")


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
    def meta_path(self) -> Path:
        return self.path / RUN_FILE

    @property
    def status_path(self) -> Path:
        return self.path / STATUS_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_FILE

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def theta_path(self) -> Path:
        return self.path / "theta.txt"

    def theta_epoch_path(self, completed: int) -> Path:
        return self.path / "theta" / f"epoch_{completed:03d}.txt"

    @property
    def arch_path(self) -> Path:
        return self.path / ARCH_FILE

    @property
    def error_log_path(self) -> Path:
        return self.path / "error.log"

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_FILE

    @property
    def deploy_dir(self) -> Path:
        return self.path / DEPLOY_DIR

    @property
    def export_dir(self) -> Path:
        """Where `hanna-tui export` writes by default."""
        return self.path / EXPORT_DIR

    @property
    def model_path(self) -> Path:
        """Final weights of a training folder (see training())."""
        return self.path / MODEL_FILE

    @property
    def spec_path(self) -> Path:
        """The trained model's spec (plain JSON) in a training folder."""
        return self.path / SPEC_FILE

    @property
    def train_path(self) -> Path:
        """Where this run's training writes: RUN/train/ for childnets and baselines alike.

        A baseline trained by the previous version wrote into RUN/ itself; it is read (and
        continued) there, the one place that knows about the old layout.
        """
        new = self.path / TRAIN_DIR
        if not new.exists() and self.meta().get("kind") == "baseline":
            if any((self.path / name).is_file() for name in (CHECKPOINT_FILE, MODEL_FILE, SPEC_FILE)):
                return self.path
        return new

    def training(self) -> Run:
        """The training folder as a Run (its own status, metrics, checkpoint and model)."""
        return Run(self.train_path)

    def exists(self) -> bool:
        return is_run_dir(self.path)

    def meta(self) -> dict[str, Any]:
        meta = read_json(self.meta_path, {}) or {}
        if not isinstance(meta, dict):
            return {}
        return upgrade_meta(meta)

    def complete_meta(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Fill the keys of run.json that its creator left empty (a run queued by the dashboard or a
        batch gets its profile hash from the search process); what is there stays."""
        meta = self.meta()
        missing = {k: v for k, v in fields.items() if meta.get(k) in (None, "", {}) and v not in (None, "", {})}
        if missing:
            meta.update(missing)
            atomic_write_json(self.meta_path, meta)
        return meta

    def status(self) -> dict[str, Any]:
        status = read_json(self.status_path, {}) or {}
        return status if isinstance(status, dict) else {}

    def update_status(self, **changes: Any) -> dict[str, Any]:
        status = self.status()
        status.update(changes)
        status["updated"] = now_iso()
        atomic_write_json(self.status_path, status)
        return status

    # the lifecycle of the process working on the run (search, training, baseline alike)
    def claim(self, **fields: Any) -> dict[str, Any]:
        """Record this process (pid, host, start time) as the run's; the state stays as it is."""
        me = ProcessRecord.current()
        return self.update_status(pid=me.pid, host=me.host, pid_start=me.start_ticks, **fields)

    def mark_running(self, resumed: bool = False, **fields: Any) -> dict[str, Any]:
        """State running: started kept from the first start, resumed when continued, ended/error cleared."""
        status = self.status()
        me = ProcessRecord.current()
        if status.get("pid") != me.pid or status.get("host") != me.host:
            fields.update(pid=me.pid, host=me.host, pid_start=me.start_ticks)
        return self.update_status(
            state="running",
            started=status.get("started") or now_iso(),
            resumed=now_iso() if resumed else None,
            ended=None,
            error=None,
            **fields,
        )

    def mark_ended(self, state: str, error: str | None = None, **fields: Any) -> dict[str, Any]:
        """done, failed or cancelled, with the time and (for failed/cancelled) one line saying why."""
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        return self.update_status(state=state, ended=now_iso(), error=error, **fields)

    # is the run's process alive? (one rule: same host, same pid, same process start time)
    def liveness(self, status: dict[str, Any] | None = None) -> str:
        """'alive', 'gone', 'elsewhere' (its host is another machine) or 'none' (no process recorded)."""
        status = self.status() if status is None else status
        record = ProcessRecord.from_status(status)
        return "none" if record is None else record.state()

    def live_pid(self, status: dict[str, Any] | None = None) -> int | None:
        """The pid of the run's process when it runs on this machine now (never this process)."""
        status = self.status() if status is None else status
        if status.get("state") != "running" or self.liveness(status) != "alive" or status.get("pid") == os.getpid():
            return None
        return int(status["pid"])

    def effective_state(self, status: dict[str, Any] | None = None) -> str:
        """The stored state, but 'interrupted' when it says running and its process is gone."""
        status = self.status() if status is None else status
        state = status.get("state", "queued")
        if state == "running" and self.liveness(status) in ("gone", "none"):
            return "interrupted"
        return state

    # one process per run directory
    def lock(self, purpose: str) -> RunLock:
        """Take the run's lock (raises RunBusy naming the holder); release() or use as a context."""
        return RunLock(self, purpose).acquire()

    def holder(self) -> LockRecord | None:
        """Who holds the lock now (a live process on this machine, or one on another host), else None."""
        record = LockRecord.read(self.lock_path)
        if record is None or record.process.state() == "gone":
            return None
        return record

    def request_stop(self) -> str:
        """SIGTERM to the run's process after checking it is that process; a message for the user."""
        status = self.status()
        state = status.get("state", "queued")
        if state not in ("running", "queued"):
            return f"{self.id} is {state}, nothing to cancel"
        record = LockRecord.read(self.lock_path)
        if record is None:
            where = status.get("host")
            if where and where != socket.gethostname():
                return f"{self.id} runs on {where}; cancel it there"
            return f"{self.id}: no process holds its lock (not started yet, or gone); nothing signalled"
        alive = record.process.state()
        if alive == "elsewhere":
            return f"{self.id} runs on {record.process.host}; cancel it there"
        if alive != "alive":
            return f"{self.id}: its process (pid {record.process.pid}) is gone; nothing signalled"
        if record.process.pid == os.getpid():
            return f"{self.id} is held by this process; nothing signalled"
        os.kill(record.process.pid, signal.SIGTERM)
        return f"sent SIGTERM to {self.id} (pid {record.process.pid}, {record.purpose}); it saves and stops"

    # metrics and results
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

    def write_error_log(self, text: str) -> None:
        atomic_write_text(self.error_log_path, text)

    def deploy_results(self) -> list[dict[str, Any]]:
        out = []
        for p in sorted(self.deploy_dir.glob("*.json")):
            data = read_json(p)
            if isinstance(data, dict):
                out.append(data)
        return out

    def train_status(self) -> dict[str, Any]:
        return self.training().status()


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
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    try:  # a zombie (exited, not yet reaped) is not alive
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def process_start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot, /proc/PID/stat field 22): with the pid it
    names one process, so a recycled pid is never taken for the run's process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return int(handle.read().rsplit(") ", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class ProcessRecord:
    """One process on one machine: pid, host and (where known) its start time."""

    pid: int
    host: str
    start_ticks: int | None = None

    @classmethod
    def current(cls) -> ProcessRecord:
        return cls(os.getpid(), socket.gethostname(), process_start_ticks(os.getpid()))

    @classmethod
    def from_status(cls, data: dict[str, Any]) -> ProcessRecord | None:
        """From status.json or a lock record; a missing host means this machine."""
        pid, start = data.get("pid"), data.get("pid_start")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            return None
        host = data.get("host") if isinstance(data.get("host"), str) and data.get("host") else socket.gethostname()
        return cls(pid, host, start if isinstance(start, int) and not isinstance(start, bool) else None)

    def state(self) -> str:
        """'alive', 'gone' (exited, or its pid now names another process) or 'elsewhere'."""
        if self.host != socket.gethostname():
            return "elsewhere"
        if not pid_alive(self.pid):
            return "gone"
        if self.start_ticks is not None and process_start_ticks(self.pid) not in (None, self.start_ticks):
            return "gone"
        return "alive"


class RunBusy(UserError):
    """Another live process holds the run's lock."""


@dataclass(frozen=True)
class LockRecord:
    """What the lock file says: the holder's process, since when, and what it does."""

    process: ProcessRecord
    since: str
    purpose: str

    def describe(self) -> str:
        return f"pid {self.process.pid} on {self.process.host}, {self.purpose} since {self.since}"

    def to_dict(self) -> dict[str, Any]:
        p = self.process
        return {
            "pid": p.pid,
            "host": p.host,
            "pid_start": p.start_ticks,
            "since": self.since,
            "purpose": self.purpose,
            "argv": sys.argv[:8],
        }

    @classmethod
    def read(cls, path: Path) -> LockRecord | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            raw = os.read(fd, 4096)
        except OSError:
            return None
        finally:
            os.close(fd)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        process = ProcessRecord.from_status(data) if isinstance(data, dict) else None
        if process is None:
            return None
        return cls(process, str(data.get("since", "")), str(data.get("purpose", "")))


class RunLock:
    """The run directory's lock: flock on RUN/.lock, held for as long as this process works on the
    run (the kernel drops it when the process dies, so a dead holder's file is simply taken over).
    The file says who holds it; an inode check after flock makes an unlink race harmless."""

    def __init__(self, run: Run, purpose: str) -> None:
        self.run = run
        self.purpose = purpose
        self._fd: int | None = None
        self.created_dir = False

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        path = self.run.lock_path
        if not self.run.path.exists():
            try:
                self.run.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"{self.run.path}: cannot create the run directory ({exc.strerror or exc})") from None
            self.created_dir = True
        elif not self.run.path.is_dir():
            raise UserError(f"{self.run.path}: not a directory (expected a run directory)")
        for _attempt in range(20):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                raise UserError(f"{path}: cannot open the run's lock ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                record = LockRecord.read(path)
                for _wait in range(50):  # the holder may be between its flock and writing who it is
                    if record is not None:
                        break
                    time.sleep(0.01)
                    record = LockRecord.read(path)
                holder = record.describe() if record else "another process"
                raise RunBusy(f"{self.run.path}: in use by {holder}; wait for it to end or cancel it") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the previous holder unlinked the file between our open and flock
                os.close(fd)
                continue
            record = LockRecord(ProcessRecord.current(), now_iso(), self.purpose)
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, (json.dumps(record.to_dict()) + "\n").encode("utf-8"), 0)
            except OSError as exc:  # a full disk: no room even for who holds the lock
                os.close(fd)
                raise OSError(exc.errno, exc.strerror, str(path)) from None
            self._fd = fd
            return self
        raise RunBusy(f"{path}: the lock keeps changing hands; try again")

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.run.lock_path.unlink()
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
        if self.created_dir:  # nothing was written (bad input found after the lock): leave no empty folder
            try:
                self.run.path.rmdir()
            except OSError:
                pass

    def keep_dir(self) -> None:
        """The run directory now holds files: never remove it on release."""
        self.created_dir = False

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


@contextmanager
def locked(run: Run, purpose: str) -> Iterator[RunLock]:
    lock = run.lock(purpose)
    try:
        yield lock
    finally:
        lock.release()


def upgrade_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """run.json of the previous version in today's shape: `data` a dict, `source` as `origin`."""
    meta = dict(meta)
    if isinstance(meta.get("data"), str):
        meta["data"] = {"name": meta["data"]}
    if "origin" not in meta and isinstance(meta.get("source"), str):
        meta["origin"] = meta.pop("source")
    return meta


_META_DEFAULTS: dict[str, Any] = {
    "origin": "cli",
    "data": {},
    "knobs": {},
    "loss_form": "",
    "space": "",
    "width_mult": None,
    "mode": "",
    "device": "",
    "profile": "",
    "profile_hash": "",
    "model": "",
    "variant": "",
    "label": "",
    "num_classes": None,
    "input_size": None,
    "proxy": None,
}


def run_meta(run_id: str, kind: str, name: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """run.json of a new run: exactly the keys of its kind (META_KEYS), defaults for those not given."""
    if kind not in META_KEYS:
        raise ValueError(f"unknown run kind {kind!r} (expected one of {', '.join(META_KEYS)})")
    fields = upgrade_meta(fields or {})
    unknown = set(fields) - set(META_KEYS[kind])
    if unknown:
        raise ValueError(f"run.json of a {kind} run has no key(s) {', '.join(sorted(unknown))}")
    if fields.get("origin", "cli") not in ORIGINS:
        raise ValueError(f"origin {fields.get('origin')!r}: expected one of {', '.join(ORIGINS)}")
    meta = {key: _META_DEFAULTS.get(key) for key in META_KEYS[kind]}
    meta.update(fields, id=run_id, kind=kind, name=name, created=now_iso())
    return meta


def data_meta(data: Any) -> dict[str, Any]:
    """The data set as run.json holds it (a dict for every kind): a DataSection or a dict."""
    return dict(data) if isinstance(data, dict) else asdict(data)


def write_meta(run: Run, kind: str, name: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one writer of run.json (plus the queued status of a new run)."""
    meta = run_meta(run.id, kind, name, fields)
    atomic_write_json(run.meta_path, meta)
    if not run.status_path.exists():
        run.update_status(state="queued")
    return meta


def lead_process() -> bool:
    """Rank 0 of a torchrun job, or the only process: the one that holds the run's lock (known
    from the environment, before torch is imported)."""
    return os.environ.get("RANK", "0") in ("", "0")


def run_folders(base: str | os.PathLike) -> list[os.DirEntry]:
    """The folders under a runs root that may be runs; hidden ones (a dot first) are left out."""
    return [e for e in os.scandir(base) if not e.name.startswith(".") and e.is_dir()]


def is_run_dir(path: str | os.PathLike) -> bool:
    return os.path.isfile(os.path.join(path, RUN_FILE))


def create_run(name: str, kind: str = "search", root: str | os.PathLike | None = None, extra: dict | None = None) -> Run:
    """A new run directory (a fresh name under the root) with run.json and a queued status."""
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
    with locked(run, f"creating a {kind} run"):
        write_meta(run, kind, name, extra)
    return run


def create_run_at(path: str | os.PathLike, name: str, kind: str = "search", extra: dict | None = None, lock: RunLock | None = None) -> Run:
    """A run directory at a given path (created if needed) with run.json and a queued status.
    Pass the lock when this process already holds it (it is then kept)."""
    run = Run(path)
    run.path.mkdir(parents=True, exist_ok=True)
    if lock is not None and lock.held:
        lock.keep_dir()
        write_meta(run, kind, name, extra)
        return run
    with locked(run, f"creating a {kind} run"):
        write_meta(run, kind, name, extra)
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
    loss_form: str = "additive"
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
    exp_latency_s: float | None = None  # E[LAT] under theta (status latest), beside the argmax prediction
    exp_energy_j: float | None = None
    argmax_latency_s: float | None = None  # arch.json's prediction only (no fallback to E[LAT])
    argmax_energy_j: float | None = None
    train_state: str = ""  # the childnet's training (RUN/train/status.json), "" when none
    train_epoch: int = 0
    train_total_epochs: int = 0
    proxy: bool = False  # run.json has a "proxy" entry: a smaller proxy of the profile's network was searched

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def summarize(run: Run) -> RunSummary:
    """The summary of one run, whatever its files hold: a file that cannot be used (not JSON, a
    link, a FIFO, too large, binary) gives state "unreadable" and error "unreadable: FILE: REASON";
    a field of the wrong type reads as absent. Never raises for what is inside the directory.
    A run directory that is itself a symbolic link is not followed (it could point anywhere)."""
    if run.path.is_symlink():
        reason = "unreadable: .: is a symbolic link (a run directory is not followed; use the folder it names)"
        return RunSummary(id=run.id, path=str(run.path), kind="search", name=_text(run.id), state="unreadable", created="", error=reason)
    reading = _Reading(run.path)
    meta = reading.table(run.meta_path)
    status = reading.table(run.status_path)
    arch = reading.table(run.arch_path)
    train = reading.table(run.training().status_path)
    progress = train if _text(meta.get("kind")) == "baseline" else status  # a baseline's epochs are its training's
    metrics_problem = check_jsonl_tail(run.metrics_path)
    if metrics_problem:
        reading.problem(run.metrics_path, metrics_problem)
    latest = _table(status.get("latest"))
    predicted = _table(arch.get("predicted"))
    status_ok = dict(status)
    if not isinstance(status_ok.get("pid"), int) or isinstance(status_ok.get("pid"), bool):
        status_ok.pop("pid", None)
    if not isinstance(status_ok.get("state"), str):
        status_ok.pop("state", None)
    knobs = {k: v for k, v in ((str(k), finite_or_none(v)) for k, v in _table(meta.get("knobs")).items()) if v is not None}
    summary = RunSummary(
        id=run.id,
        path=str(run.path),
        kind=_text(meta.get("kind"), "search"),
        name=_text(meta.get("name"), _text(run.id)),
        state=_text(_state_of(run, status_ok), "queued"),
        created=_text(meta.get("created")),
        updated=_text(status.get("updated")),
        epoch=_count(progress.get("epoch")),
        total_epochs=_count(progress.get("total_epochs")),
        progress=min(1.0, max(0.0, finite_or_none(progress.get("progress")) or 0.0)),
        knobs=knobs,
        space=_text(meta.get("space")),
        mode=_text(meta.get("mode")),
        device=_text(meta.get("device")),
        profile=_text(meta.get("profile")),
        pred_latency_s=_first_number(predicted.get("latency_s"), latest.get("lat")),
        pred_energy_j=_first_number(predicted.get("energy_j"), latest.get("ener")),
        search_acc=_first_number(status.get("best_acc"), latest.get("acc")),
        top1=_first_number(train.get("top1")),
        params=_count_or_none(train.get("params")),
        macs=_count_or_none(train.get("macs")),
        error=_text(status.get("error")),
        pid=status_ok.get("pid"),
        exp_latency_s=_first_number(latest.get("lat")),
        exp_energy_j=_first_number(latest.get("ener")),
        argmax_latency_s=_first_number(predicted.get("latency_s")),
        argmax_energy_j=_first_number(predicted.get("energy_j")),
        train_state=_text(_state_of(run.training(), train)) if train else "",
        train_epoch=_count(train.get("epoch")),
        train_total_epochs=_count(train.get("total_epochs")),
        proxy=bool(meta.get("proxy")),
    )
    last = reading.last_deploy(run.deploy_dir)
    if last:
        measured = _table(last.get("measured"))
        summary.measured_latency_s = finite_or_none(measured.get("latency_s"))
        summary.measured_energy_j = finite_or_none(measured.get("energy_j"))
        summary.target = _text(last.get("target"))
    if reading.problems:
        summary.state = "unreadable"
        summary.error = "unreadable: " + "; ".join(reading.problems)
    return summary


MAX_DEPLOY_FILES = 1000  # deploy results read per run (the newest by name)


class _Reading:
    """The files of one run read through the hardened reader, with what was wrong with them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[str] = []

    def problem(self, path: Path, reason: str) -> None:
        try:
            name = str(path.relative_to(self.root))
        except ValueError:
            name = path.name
        self.problems.append(_text(f"{name}: {reason}", limit=300))

    def table(self, path: Path) -> dict[str, Any]:
        """A JSON object file as a dict; {} when missing; a problem when unusable or not an object."""
        try:
            value = load_json(path)
        except Unreadable as exc:
            self.problem(path, exc.reason)
            return {}
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"expected a JSON object, got {_json_kind(value)}")
            return {}
        return value

    def last_deploy(self, folder: Path) -> dict[str, Any]:
        """The newest deploy result that is a JSON object (unusable ones are problems)."""
        try:
            names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".json") and not e.name.startswith("."))
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self.problem(folder, exc.strerror or str(exc))
            return {}
        for name in reversed(names[-MAX_DEPLOY_FILES:]):
            data = self.table(folder / name)
            if data:
                return data
        return {}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _text(value: Any, default: str = "", limit: int = 200) -> str:
    """A string field for display: control characters (terminal escapes) and undecodable bytes
    shown as '?', at most ``limit`` characters; anything not a string is ``default``."""
    if not isinstance(value, str):
        return default
    return _CONTROL.sub("?", value)[:limit]


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    """A non-negative integer field (an int or an integral float); anything else is 0."""
    number = finite_or_none(value)
    if number is None or number < 0 or number != int(number):
        return 0
    return int(number)


def _count_or_none(*values: Any) -> int | None:
    for value in values:
        if value is not None:
            number = finite_or_none(value)
            return int(number) if number is not None and number >= 0 else None
    return None


def _first_number(*values: Any) -> float | None:
    """The first value that is present, as a finite float (None when it is not a number)."""
    for value in values:
        if value is not None:
            return finite_or_none(value)
    return None


def _json_kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(type(value), "null")


def _state_of(run: Run, status: dict[str, Any]) -> str:
    try:
        return run.effective_state(status)
    except (TypeError, ValueError, OverflowError):  # a pid or host of the wrong kind
        return _text(status.get("state"), "queued")


def list_runs(root: str | os.PathLike | None = None, require_dir: bool = False) -> list[RunSummary]:
    """Every run under the root (hidden folders left out), running ones first, then newest first;
    a run whose files are unusable is listed as "unreadable". With require_dir a root that is not a folder is a
    UserError (a missing one is no runs)."""
    from .errors import UserError

    base = runs_root(root)
    if not base.is_dir():
        if require_dir and base.exists():
            raise UserError(f"{base}: not a directory (expected the runs folder: set HANNA_RUNS or --root)")
        return []
    try:
        entries = [Path(e.path) for e in run_folders(base) if os.path.lexists(os.path.join(e.path, RUN_FILE))]
    except OSError as exc:
        raise UserError(f"{base}: cannot list the runs folder ({exc.strerror or exc})") from None
    runs = [summarize(Run(p)) for p in entries]
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
    is_id = bool(ref) and "/" not in ref and not any(c in ref for c in "*?[")  # a path is no id prefix
    matches = [p for p in base.glob(f"{ref}*") if (p / "run.json").is_file()] if is_id and base.is_dir() else []
    if len(matches) == 1:
        return Run(matches[0])
    if len(matches) > 1:
        raise UserError(f"{ref}: ambiguous run id (matches {', '.join(sorted(m.name for m in matches)[:5])})")
    raise UserError(f"{ref}: not a run directory (expected a path holding run.json, or a run id under {base})")
