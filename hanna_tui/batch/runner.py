"""`hanna-tui --batch CONFIG`: validate, check targets, plan the runs, execute the queue, summarise.

Exit codes: 0 every run done, 1 a run failed, 2 bad input, 3 a target unreachable, 130 interrupted.
"""

from __future__ import annotations

import copy
import dataclasses
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED, EXIT_UNREACHABLE, TargetUnreachable, UserError
from ..fsutil import atomic_write_json, atomic_write_text, json_safe, read_json
from ..profiles import resolve_profile
from ..store import now_iso
from .config import EXECUTORS, BatchConfig, Setting, batch_warnings, load_batch_config, narrow
from .executors import LocalExecutor, RayExecutor, cpu_count, ray_available
from .pipeline import Job, JobResult, planned_steps, step_done
from .progress import PlainReporter, job_progress, make_reporter
from .summary import PARETO_BASIS, counts, front_entry, front_lines, mark_pareto, run_record, summary_lines

MANIFEST_FORMAT = "hanna-batch/1"
CONNECT_TIMEOUT_S = 5.0


def apply_overrides(cfg: BatchConfig, executor: str | None, address: str | None, concurrency: int | None) -> None:
    if executor is not None:
        if executor not in EXECUTORS:
            raise UserError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
        cfg.batch.executor = executor
    if address is not None:
        cfg.batch.address = address
    if concurrency is not None:
        if concurrency < 1:
            raise UserError(f"--concurrency: expected an integer >= 1, got {concurrency}")
        cfg.batch.concurrency = concurrency


# ---------------------------------------------------------------- targets


def check_targets(cfg: BatchConfig) -> None:
    """Every deploy target answers as an SSH server before any search starts (exit 3 otherwise)."""
    if not cfg.deploy.enabled:
        return
    for target in cfg.deploy.targets:
        if target != "local":
            check_target(target, f"{cfg.path}: deploy.targets")


def check_target(target: str, where: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    host, port = _host_port(target, where)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            banner = sock.recv(64)
    except OSError as exc:
        raise TargetUnreachable(f"{where}: {target}: unreachable ({host}:{port}: {exc.strerror or exc})") from None
    if not banner.startswith(b"SSH-"):
        raise TargetUnreachable(f"{where}: {target}: {host}:{port} is not an SSH server (expected an SSH banner)")


def _host_port(target: str, where: str) -> tuple[str, int]:
    from ..device.ssh import parse_target

    try:
        spec = parse_target(target)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    return spec.host, spec.port


# ---------------------------------------------------------------- planning


def threads_per_run(cfg: BatchConfig, setting: Setting) -> int:
    if setting.config.run.threads > 0:
        return setting.config.run.threads
    if cfg.batch.threads_per_run > 0:
        return cfg.batch.threads_per_run
    return max(1, cpu_count() // cfg.batch.concurrency)


def make_jobs(cfg: BatchConfig) -> list[Job]:
    batch_dir = cfg.batch_dir.resolve()
    jobs = []
    for setting in cfg.settings:
        run_dir = cfg.run_dir(setting).resolve()
        config_file = batch_dir / "configs" / f"{run_dir.name}.toml"
        run_cfg = copy.deepcopy(setting.config)
        run_cfg.run.name = f"{cfg.batch.name}/{setting.label}"
        run_cfg.profile.path = str(resolve_profile(run_cfg.profile.path).resolve())  # the step may run in another folder (Ray)
        _write_if_changed(config_file, run_cfg.to_toml())
        jobs.append(
            Job(
                name=run_dir.name,
                label=setting.label,
                index=setting.index,
                settings=setting.overrides,
                run_dir=str(run_dir),
                config_file=str(config_file),
                log_dir=str(batch_dir / "logs"),
                cwd=os.getcwd(),
                threads=threads_per_run(cfg, setting),
                knobs=dataclasses.asdict(setting.config.knobs),
                train=vars(cfg.train).copy() if cfg.train.enabled else None,
                deploy=vars(cfg.deploy).copy() if cfg.deploy.enabled else None,
            )
        )
    return jobs


def _write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    atomic_write_text(path, text)


@contextmanager
def batch_lock(batch_dir: Path) -> Iterator[None]:
    """One batch process per batch directory; the lock dies with its process (kill -9 included)."""
    batch_dir.mkdir(parents=True, exist_ok=True)
    handle = open(batch_dir / ".lock", "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise UserError(f"{batch_dir}: another hanna-tui --batch is running on it (pid {handle.read().strip() or '?'})") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        except OSError as exc:  # a full disk: not even the pid fits (the empty lock we hold goes too)
            (batch_dir / ".lock").unlink(missing_ok=True)
            raise OSError(exc.errno, exc.strerror, str(batch_dir / ".lock")) from None
        yield
    finally:
        try:
            handle.close()
        except OSError:  # the pid that did not fit, flushed again on close
            pass


# ---------------------------------------------------------------- the batch


def make_executor(cfg: BatchConfig, jobs: list[Job]) -> LocalExecutor | RayExecutor:
    if cfg.batch.executor == "ray":
        cpus = max((job.threads for job in jobs), default=1)
        return RayExecutor(cfg.batch.concurrency, cfg.batch.address, cpus)
    return LocalExecutor(cfg.batch.concurrency)


class Batch:
    def __init__(self, cfg: BatchConfig, reporter: PlainReporter) -> None:
        self.cfg = cfg
        self.reporter = reporter
        self.batch_dir = cfg.batch_dir.resolve()
        self.jobs = make_jobs(cfg)
        self.executor = make_executor(cfg, self.jobs)
        self.results: dict[str, JobResult] = {}
        self.started = time.time()
        self.manifest_path = self.batch_dir / "manifest.json"
        self.created = (read_json(self.manifest_path, {}) or {}).get("created") or now_iso()

    def execute(self) -> str:
        """Run what is left; 'done' or 'interrupted'."""
        todo = [job for job in self.jobs if not all(step_done(job, s) for s in planned_steps(job))]
        for job in self.jobs:
            if job not in todo:
                self.results[job.name] = JobResult(job.name, "done", {s: "skipped (already done)" for s in planned_steps(job)})
        self.reporter.log(
            f"batch {self.cfg.batch.name}: {len(self.jobs)} runs, {len(self.jobs) - len(todo)} done before, "
            f"executor {self.cfg.batch.executor}, concurrency {self.cfg.batch.concurrency}, dir {self.batch_dir}"
        )
        self.write_manifest("running")
        self.reporter.start(todo)
        try:
            self.executor.run(todo, self._on_done, self._tick)
        except KeyboardInterrupt:
            return "interrupted"
        finally:
            self.reporter.close()
        return "done"

    def _on_done(self, job: Job, result: JobResult) -> None:
        self.results[job.name] = result
        self.reporter.finish(job, result)
        self.write_manifest("running")

    def _tick(self) -> None:
        for job in self.jobs:
            if job.name not in self.results:
                self.reporter.update(job, job_progress(job))

    def records(self) -> list[dict[str, Any]]:
        return [run_record(job, self.results.get(job.name)) for job in self.jobs]

    def write_manifest(self, state: str, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        manifest = {
            "format": MANIFEST_FORMAT,
            "batch": self.cfg.batch.name,
            "config": str(Path(self.cfg.path).resolve()),
            "batch_dir": str(self.batch_dir),
            "created": self.created,
            "updated": now_iso(),
            "executor": self.cfg.batch.executor,
            "concurrency": self.cfg.batch.concurrency,
            "state": state,
            "runs": records if records is not None else self.records(),
        }
        atomic_write_json(self.manifest_path, manifest)
        return manifest

    def summary(self, outcome: str) -> tuple[dict[str, Any], int]:
        records = self.records()
        front = mark_pareto(records)
        code = exit_code(outcome, records)
        state = {EXIT_OK: "done", EXIT_INTERRUPTED: "interrupted", EXIT_UNREACHABLE: "unreachable"}.get(code, "failed")
        manifest = self.write_manifest(state, records)
        summary = {
            **manifest,
            "exit_code": code,
            "wall_s": round(time.time() - self.started, 3),
            "counts": counts(records),
            "pareto": front,
            "pareto_basis": PARETO_BASIS,
        }
        budget_front = front_entry(records, [s.config.constraints for s in self.cfg.settings], self.cfg.front)
        if budget_front is not None:
            summary["front"] = budget_front
        atomic_write_json(self.batch_dir / "summary.json", json_safe(summary))
        return summary, code


def exit_code(outcome: str, records: list[dict[str, Any]]) -> int:
    if outcome == "interrupted":
        return EXIT_INTERRUPTED
    states = {r["state"] for r in records}
    if "unreachable" in states:
        return EXIT_UNREACHABLE
    if states - {"done"}:
        return EXIT_RUN_FAILED
    return EXIT_OK


@contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the batch like Ctrl-C (children are stopped, the summary is written)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def run_batch(
    path: str,
    executor: str | None = None,
    address: str | None = None,
    concurrency: int | None = None,
    err: TextIO | None = None,
    out: TextIO | None = None,
    sets: list[str] | None = None,
    only: list[str] | None = None,
) -> int:
    err, out = err or sys.stderr, out or sys.stdout
    cfg = load_batch_config(path)
    narrow(cfg, sets or [], only or [])
    for line in batch_warnings(cfg):
        err.write(f"warning: {line}\n")
    err.flush()
    apply_overrides(cfg, executor, address, concurrency)
    if cfg.batch.executor == "ray":
        if not ray_available():
            raise UserError(f"{path}: batch.executor: ray is not installed (pip install 'hanna-tui[ray]')")
    check_targets(cfg)
    with batch_lock(cfg.batch_dir.resolve()):
        batch = Batch(cfg, make_reporter(err))
        batch.executor.prepare()  # before our signal handlers: ray.init installs its own
        with _term_as_interrupt():
            outcome = batch.execute()
            summary, code = batch.summary(outcome)
    out.write(json.dumps(json_safe(summary), indent=2, allow_nan=False, default=str) + "\n")
    out.flush()
    for line in summary_lines(summary["runs"]) + front_lines(summary.get("front")):
        batch.reporter.log(line)
    batch.reporter.log(f"batch {cfg.batch.name}: {summary['state']} {summary['counts']}, pareto {summary['pareto']}, exit {code}")
    return code
