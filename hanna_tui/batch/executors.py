"""Executors: a local queue with a concurrency limit (threads driving CLI subprocesses), or Ray tasks.

Both run `pipeline.run_job` per setting; the run directories on the (shared) runs root are the
only state, so either executor can resume what the other started.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict
from typing import Any

from ..errors import TargetUnreachable, UserError
from .pipeline import Control, Job, JobResult, run_job

TICK_S = 0.5
FORWARDED_ENV = ("HANNA_BATCH_CLI", "HANNA_SSH_CONFIG")  # to Ray workers on other machines

OnDone = Callable[[Job, JobResult], None]
Tick = Callable[[], None]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class LocalExecutor:
    """At most `concurrency` settings at a time on this machine."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)

    def prepare(self) -> None:
        pass

    def run(self, jobs: list[Job], on_done: OnDone, tick: Tick) -> None:
        control = Control()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="batch")
        futures: dict[Future, Job] = {pool.submit(run_job, job, control): job for job in jobs}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=TICK_S, return_when=FIRST_COMPLETED)
                for future in done:
                    on_done(futures[future], _result(future, futures[future]))
                tick()
        except KeyboardInterrupt:
            for future in pending:
                future.cancel()
            control.stop()
            for future in pending:
                if not future.cancelled():
                    on_done(futures[future], _result(future, futures[future]))
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _result(future: Future, job: Job) -> JobResult:
    try:
        return future.result()
    except Exception as exc:  # a bug in the driver code, not in a step: report it on the run
        return JobResult(job.name, "failed", error=f"batch: {type(exc).__name__}: {exc}")


# ---------------------------------------------------------------- Ray


def _ray_run_job(job_data: dict[str, Any]) -> dict[str, Any]:
    """Runs inside a Ray worker: the same CLI subprocesses, writing to the shared runs root."""
    return run_job(Job(**job_data)).to_dict()


def check_reachable(address: str) -> None:
    """HOST:PORT or ray://HOST:PORT answers a TCP connection (ray.init itself waits minutes on a dead address)."""
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--address {address!r}: expected local, auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5.0).close()
    except OSError as exc:
        raise TargetUnreachable(f"--address {address!r}: the Ray cluster does not answer ({exc.strerror or exc})") from None


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


class RayExecutor:
    """Each setting is one Ray task; at most `concurrency` in flight. address "" or "local" starts a local cluster."""

    def __init__(self, concurrency: int, address: str = "", cpus_per_run: int = 1) -> None:
        if not ray_available():
            raise UserError("--executor ray: ray is not installed (pip install 'hanna-tui[ray]')")
        self.concurrency = max(1, concurrency)
        self.address = address
        self.cpus_per_run = max(1, cpus_per_run)
        self._started = False

    def prepare(self) -> None:
        """Connect (or start a local cluster) before any run starts; an address that does not answer is exit code 3."""
        import ray

        if ray.is_initialized():
            return
        local = self.address in ("", "local")
        if not local and self.address != "auto":
            check_reachable(self.address)
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if local:
            kwargs["num_cpus"] = max(cpu_count(), self.concurrency * self.cpus_per_run)
        try:
            ray.init(address=None if local else self.address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise TargetUnreachable(f"--address {self.address!r}: cannot connect to the Ray cluster ({exc})") from None
        self._started = True

    def run(self, jobs: list[Job], on_done: OnDone, tick: Tick) -> None:
        import ray

        self.prepare()
        env = {key: os.environ[key] for key in FORWARDED_ENV if key in os.environ}
        options: dict[str, Any] = {"num_cpus": self.cpus_per_run, "max_retries": 0}
        if env:
            options["runtime_env"] = {"env_vars": env}
        remote = ray.remote(**options)(_ray_run_job)
        queue = list(jobs)
        refs: dict[Any, Job] = {}
        try:
            while queue or refs:
                while queue and len(refs) < self.concurrency:
                    job = queue.pop(0)
                    refs[remote.remote(asdict(job))] = job
                ready, _ = ray.wait(list(refs), num_returns=1, timeout=TICK_S)
                for ref in ready:
                    job = refs.pop(ref)
                    on_done(job, self._get(ray, ref, job))
                tick()
        except KeyboardInterrupt:
            for ref in refs:
                ray.cancel(ref)
            for job in refs.values():
                on_done(job, JobResult(job.name, "interrupted", error="batch interrupted"))
            raise
        finally:
            if self._started:
                ray.shutdown()
                self._started = False

    @staticmethod
    def _get(ray: Any, ref: Any, job: Job) -> JobResult:
        try:
            return JobResult(**ray.get(ref))
        except Exception as exc:  # the task or its worker died
            return JobResult(job.name, "failed", error=f"ray: {type(exc).__name__}: {exc}"[:300])
