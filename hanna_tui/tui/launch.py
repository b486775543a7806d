"""Starting and steering background processes from the dashboard (no textual here).

Searches run as detached `python -m hanna_tui search` processes with one torch thread and a lower
CPU priority, so the dashboard stays responsive on a 2-core machine and the search survives it.
"""

from __future__ import annotations

import copy
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import SearchConfig, demo_config, validate_config
from ..errors import ConfigError
from ..profiles import DeviceProfile, check_search_network
from ..store import Run, create_run

NICE = 10
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

Spawner = Callable[[Sequence[str], Path], "subprocess.Popen[bytes] | None"]


@dataclass
class LaunchForm:
    """What the knobs screen holds, already parsed (None: keep the base config's value)."""

    alpha: float
    beta: float
    gamma: float
    delta: float
    profile: str
    space: str = "fbnet-cifar10"
    data: str = "synthetic"
    epochs: int = 16  # as demo_config()
    mode: str = "sampled"
    seed: int = 0
    name: str = "tui"
    threads: int = 1  # torch threads of the search: one leaves the other core to the dashboard
    form: str = "additive"
    data_root: str | None = None
    download: bool | None = None
    batch_size: int | None = None
    width_mult: float | None = None
    image_size: int | None = None
    warmup_epochs: int | None = None
    latency_s: float | None = None  # [constraints]: budgets of a budget search (None: no constraint)
    energy_j: float | None = None


DATA_MARKERS = {"cifar10": ("cifar-10-batches-py",), "cifar100": ("cifar-100-python",), "imagefolder": ("train",)}
MIN_IMAGE = 8  # the supernets downsample by 8 before the head


def data_classes(cfg: SearchConfig) -> int:
    """The class count the search's data will have (an ImageFolder: its train/ folders)."""
    if cfg.data.name == "cifar100":
        return 100
    if cfg.data.name == "imagefolder":
        train = Path(cfg.data.root) / "train"
        return sum(1 for p in train.iterdir() if p.is_dir()) if train.is_dir() else 0
    return 10


def launch_problems(form: LaunchForm, cfg: SearchConfig, profile: DeviceProfile | None = None) -> list[str]:
    """What makes a launch fail later, said now: a missing data set, a space the profile does not time, impossible numbers."""
    problems = []
    if cfg.data.name in DATA_MARKERS and not cfg.data.download:
        root = Path(cfg.data.root)
        if not any((root / marker).is_dir() for marker in DATA_MARKERS[cfg.data.name]):
            hint = "tick download" if cfg.data.name != "imagefolder" else "expected ROOT/train/<class>/ and ROOT/test/<class>/"
            problems.append(f"data root: {cfg.data.name} not found in {root.resolve()} ({hint})")
    if cfg.data.download and cfg.data.name not in ("cifar10", "cifar100"):
        problems.append(f"download: only cifar10 and cifar100 can be downloaded, not {cfg.data.name}")
    if profile is not None and (classes := data_classes(cfg)):
        try:
            check_search_network(profile, cfg, classes, "form")
        except ConfigError as exc:
            expected = str(exc).removeprefix(f"{exc.source}: {exc.field}: ")
            problems.append(f"{'space' if exc.field == 'space.name' else exc.field}: {expected}")
    if cfg.search.warmup_epochs >= cfg.search.epochs:
        problems.append(f"warm-up: {cfg.search.warmup_epochs} of {cfg.search.epochs} epochs leaves no epoch that trains theta")
    if cfg.data.image_size and cfg.data.image_size < MIN_IMAGE:
        problems.append(f"image size: expected 0 (the space's) or >= {MIN_IMAGE}, got {cfg.data.image_size}")
    if cfg.data.name == "synthetic":
        train = int(cfg.data.synthetic_train * (1 - cfg.data.val_fraction))
        if cfg.search.batch_size > train:
            problems.append(f"batch size: {cfg.search.batch_size} is more than the {train} synthetic training images")
    for label, value in (("latency budget", form.latency_s), ("energy budget", form.energy_j)):
        if value is not None and not value > 0:
            problems.append(f"{label}: expected a number > 0 or nothing, got {value:g}")
    return problems


def build_config(form: LaunchForm, base: SearchConfig | None = None, profile: DeviceProfile | None = None) -> SearchConfig:
    """The demo (or base) config with the form's choices; raises ConfigError with the first problem."""
    cfg = base or demo_config()
    cfg.run.name = form.name
    cfg.run.seed = form.seed
    cfg.run.threads = form.threads
    cfg.space.name = form.space
    cfg.profile.path = str(Path(form.profile).resolve())
    cfg.knobs = replace(cfg.knobs, alpha=form.alpha, beta=form.beta, gamma=form.gamma, delta=form.delta, form=form.form)
    cfg.data.name = form.data
    cfg.search.epochs = form.epochs
    cfg.search.warmup_epochs = min(cfg.search.warmup_epochs, max(0, form.epochs - 1))
    cfg.search.mode = form.mode
    for section, key, value in (
        (cfg.data, "root", form.data_root),
        (cfg.data, "download", form.download),
        (cfg.data, "image_size", form.image_size),
        (cfg.search, "batch_size", form.batch_size),
        (cfg.search, "warmup_epochs", form.warmup_epochs),
        (cfg.space, "width_mult", form.width_mult),
    ):
        if value is not None:
            setattr(section, key, value)
    cfg.constraints.latency_s = form.latency_s or 0.0  # 0: no budget
    cfg.constraints.energy_j = form.energy_j or 0.0
    validate_config(cfg, "knobs screen")
    problems = launch_problems(form, cfg, profile)
    if problems:
        field, _, expected = problems[0].partition(": ")
        raise ConfigError("knobs screen", field, expected)
    return cfg


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hanna_tui", *args]


def spawn_detached(cmd: Sequence[str], log_path: Path) -> subprocess.Popen[bytes]:
    """A process in its own session, output to a log, fewer threads and lower priority than the UI."""
    env = {**os.environ, **WORKER_ENV}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        os.setpriority(os.PRIO_PROCESS, proc.pid, NICE)
    except OSError:
        pass
    return proc


def launch_search(
    form: LaunchForm, root: str | os.PathLike | None = None, spawn: Spawner = spawn_detached, base: SearchConfig | None = None
) -> tuple[Run, object]:
    """A queued run (run.json through the store's one writer, config.toml) and its search process."""
    from ..nas.run import search_meta

    profile = _profile_or_none(form.profile)
    cfg = build_config(form, copy.deepcopy(base) if base is not None else None, profile)
    run = create_run(form.name, kind="search", root=root, extra=search_meta(cfg, profile, "tui"))
    run.write_config_text(cfg.to_toml())
    run.update_status(total_epochs=cfg.search.epochs)
    proc = spawn(cli_command("search", "--config", str(run.config_path), "--run-dir", str(run.path)), run.path / "search.log")
    return run, proc


def resume_search(run: Run, spawn: Spawner = spawn_detached) -> object:
    """A resume process; a second one started while the first runs loses the run's lock and exits 2."""
    return spawn(cli_command("search", "--config", str(run.config_path), "--run-dir", str(run.path), "--resume"), run.path / "search.log")


def start_training(run: Run, spawn: Spawner = spawn_detached, extra: Sequence[str] = ()) -> object:
    """`hanna-tui train RUN` with the recipe flags of the dashboard's train form (extra)."""
    return spawn(cli_command("train", str(run.path), *extra), run.path / "train.log")


def cancel_training(run: Run) -> str:
    """SIGTERM to the process training the run's childnet (it holds the run's lock as "training")."""
    holder = run.holder()
    state = run.training().status().get("state") or "not started"
    if holder is None or holder.purpose != "training":
        return f"{run.id}: no training process holds the run (training {state}); nothing to cancel"
    if holder.process.state() == "elsewhere":
        return f"{run.id} trains on {holder.process.host}; cancel it there"
    os.kill(holder.process.pid, signal.SIGTERM)
    return f"sent SIGTERM to the training of {run.id} (pid {holder.process.pid}); it saves a checkpoint and stops"


def start_job(args: Sequence[str], log_path: Path, spawn: Spawner = spawn_detached) -> object:
    """Any other CLI action (baseline, --batch, export, report) as its own detached process."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return spawn(cli_command(*args), log_path)


def stop_group(proc: object) -> int | None:
    """SIGTERM to a job's process group (the CLI and whatever it started in that group); the group's id.

    A job started by spawn_detached leads its own session, so its pid is its group's id; a process
    that is not a group leader (a test's stand-in, say) gets the signal alone, never our own group.
    """
    pid = getattr(proc, "pid", None)
    if isinstance(pid, int) and pid > 0:
        try:
            if os.getpgid(pid) == pid and pid != os.getpgrp():
                os.killpg(pid, signal.SIGTERM)
                return pid
        except ProcessLookupError:
            return None
        except OSError:
            pass
    send = getattr(proc, "send_signal", None)
    if send is not None:
        try:
            send(signal.SIGTERM)
        except ProcessLookupError:
            pass
    return None


def cancel_search(run: Run) -> str:
    """SIGTERM to the run's process, checked to be that process (Run.request_stop); a message for the user."""
    return run.request_stop()


def sample_run(run: Run) -> tuple[int, str]:
    """The argmax childnet of the run's theta written to arch.json (a direct call, no new process):
    (0, summary) or (exit code, the one-line error)."""
    from ..errors import UserError
    from ..sampling import sample_run as sample
    from ..sampling import write_arch

    try:
        arch = sample(run)
        write_arch(run.arch_path, arch)
    except UserError as exc:
        return exc.exit_code, str(exc)
    except OSError as exc:
        return 1, f"{run.arch_path}: cannot write ({exc.strerror or exc})"
    pred = arch["predicted"]
    return (
        0,
        f"{run.id}: {len(arch['choices'])} layers, predicted {pred['latency_s'] * 1e3:.4g} ms, {pred['energy_j'] * 1e3:.4g} mJ\nwrote {run.arch_path}",
    )


TAIL_BYTES = 64 * 1024  # the most of a log read at once: a log is followed, never slurped


def _open_log(path: Path) -> int | None:
    """A read-only descriptor of a regular file (a FIFO or device planted at the log's path never blocks us)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def log_tail(path: Path, lines: int = 3) -> str:
    """The last lines of a log, from at most its last TAIL_BYTES."""
    fd = _open_log(Path(path))
    if fd is None:
        return ""
    try:
        size = os.fstat(fd).st_size
        data = os.pread(fd, TAIL_BYTES, max(0, size - TAIL_BYTES))
    except OSError:
        return ""
    finally:
        os.close(fd)
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.strip().splitlines()[-lines:])


class LogFollower:
    """The new whole lines of a growing log, at most max_bytes read per call.

    A burst larger than that is skipped to its last max_bytes (the screen shows the newest lines, the log
    keeps them all); a log that shrank (rewritten) is followed from its start again.
    """

    def __init__(self, path: Path, max_bytes: int = TAIL_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.offset = 0
        self.rest = b""

    def read(self) -> list[str]:
        fd = _open_log(self.path)
        if fd is None:
            return []
        try:
            size = os.fstat(fd).st_size
            if size < self.offset:
                self.offset, self.rest = 0, b""
            cut = size - self.offset > self.max_bytes
            if cut:
                self.offset, self.rest = size - self.max_bytes, b""
            data = os.pread(fd, self.max_bytes, self.offset)
        except OSError:
            return []
        finally:
            os.close(fd)
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        if cut and lines:
            lines = lines[1:]  # the first one begins before what was read
        if len(self.rest) > self.max_bytes:  # a line with no end in sight: shown as it is
            lines.append(self.rest)
            self.rest = b""
        return [_line(raw) for raw in lines]

    def drain(self) -> list[str]:
        """Everything left once the writer has ended (still bounded: a few reads), the last line included."""
        lines: list[str] = []
        for _ in range(4):
            new = self.read()
            if not new:
                break
            lines += new
        if self.rest:
            lines.append(_line(self.rest))
            self.rest = b""
        return lines


def _line(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")


def last_error(path: Path) -> str:
    """Why a CLI job failed: its one-line error ('hanna-tui: ...'), else the log's last line."""
    tail = log_tail(path, 20).splitlines()
    for line in reversed(tail):
        if line.startswith("hanna-tui: "):
            return line.removeprefix("hanna-tui: ")
    return tail[-1] if tail else "no output (see the log)"


BENCH_FLAGS = (
    ("threads", "--threads"),
    ("warmup_runs", "--warmup-runs"),
    ("warmup_s", "--warmup-time"),
    ("min_runs", "--min-runs"),
    ("min_s", "--min-time"),
    ("max_s", "--max-time"),
    ("batch", "--batch-size"),
    ("jit", "--jit"),
    ("runtime", "--runtime"),
    ("precision", "--precision"),
    ("rounds", "--rounds"),
)
# the CLI's defaults of clock and statistic, left out so that `deploy` measures in those of the target's profile
FOLLOWED = (("clock", "--clock", "wall"), ("statistic", "--statistic", "p50"))


def bench_args(bench: object | None) -> list[str]:
    """The flags of `hanna-tui profile/deploy` for a BenchOptions (None: the command's own defaults)."""
    if bench is None:
        return []
    out: list[str] = []
    for name, flag in BENCH_FLAGS:
        out += [flag, str(getattr(bench, name))]
    for name, flag, default in FOLLOWED:
        if getattr(bench, name) != default:
            out += [flag, str(getattr(bench, name))]
    return out


def jobs_log(folder: Path, name: str) -> Path:
    """A new log file name in a folder of job logs: TIMESTAMP-NAME.log."""
    from datetime import datetime

    return Path(folder) / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{name}.log"


def _profile_or_none(path: str) -> DeviceProfile | None:
    from ..profiles import load_profile

    try:
        return load_profile(path)
    except Exception:  # noqa: BLE001 - a broken profile is reported by the search itself
        return None
