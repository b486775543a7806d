"""Command-line options shared by `hanna-tui profile` and `hanna-tui deploy`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ..errors import EXIT_INTERRUPTED, UserError
from .energy import EnergyConfig, parse_energy
from .profiler import BenchOptions, ConnectOptions, Progress

# what --runtime and --precision take, and what each means (the dashboard's forms list the same)
RUNTIME_CHOICES = {"torch": "TorchScript", "onnxruntime": "no torch on the board"}
PRECISION_CHOICES = {"fp32": "float32", "int8": "static quantization"}


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def add_target_args(p: argparse.ArgumentParser, target_help: str) -> None:
    p.add_argument("--target", required=True, help=target_help)
    p.add_argument("--remote-python", default=None, help="python on the target (default python3; this interpreter for local)")
    p.add_argument("--remote-dir", default=None, help="working folder on the target for the agent and models (default ~/.cache/hanna-tui)")
    p.add_argument("--trust-new-host", action="store_true", help="trust an unknown host key on first use and record it in known_hosts")
    p.add_argument("--known-hosts", default="", help="known_hosts file (default ~/.ssh/known_hosts or the config's UserKnownHostsFile)")
    p.add_argument("--retries", type=int, default=3, help="reconnect attempts after a dropped connection (default 3)")
    p.add_argument("--energy", default="none", help="none | paper:idle=A,active=A[,volts=V][,csv=FILE] | hwmon[:NAME] | pmic | rapl[:ZONE]")
    p.add_argument("--energy-root", default="/", help="root of /sys on the target (for tests with a fake sysfs tree)")
    p.add_argument("--vcgencmd", default="vcgencmd", help="vcgencmd command on the target")
    p.add_argument("--deadline", type=non_negative, default=None, help="deadline of the agent run in seconds (default: estimated)")


def add_bench_args(p: argparse.ArgumentParser, defaults: BenchOptions) -> None:
    p.add_argument("--threads", type=int, default=defaults.threads, help="torch threads on the target (default 1; 0 = all CPUs)")
    p.add_argument("--warmup-runs", type=int, default=defaults.warmup_runs, help=f"warm-up runs (default {defaults.warmup_runs})")
    p.add_argument(
        "--warmup-time", type=non_negative, default=defaults.warmup_s, help=f"minimum warm-up seconds (default {defaults.warmup_s})"
    )
    p.add_argument("--min-runs", type=positive_int, default=defaults.min_runs, help=f"minimum timed runs (default {defaults.min_runs})")
    p.add_argument("--min-time", type=non_negative, default=defaults.min_s, help=f"minimum timed seconds (default {defaults.min_s})")
    p.add_argument(
        "--max-time",
        type=non_negative,
        default=defaults.max_s,
        help=f"stop timing a block after this many seconds (default {defaults.max_s})",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=defaults.rounds,
        help=f"interleaved rounds per item; each statistic is the median over rounds (default {defaults.rounds}, at least 2)",
    )
    p.add_argument("--batch-size", dest="bench_batch", type=positive_int, default=defaults.batch, help="batch size (default 1)")
    p.add_argument("--jit", choices=("eager", "trace", "freeze"), default=defaults.jit, help="how blocks/models run (default freeze)")
    p.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default=defaults.clock,
        help="wall: perf_counter (default); cpu: the thread's CPU time, robust when other processes share the CPUs (needs --threads 1)",
    )
    p.add_argument(
        "--runtime",
        choices=tuple(RUNTIME_CHOICES),
        default=defaults.runtime,
        help="what runs the network on the board: torch (TorchScript/eager) or onnxruntime (needs only numpy + onnxruntime there)",
    )
    p.add_argument(
        "--precision",
        choices=tuple(PRECISION_CHOICES),
        default=defaults.precision,
        help="fp32 (default) or int8 (static quantization: ONNX Runtime's, or torch's quantized engine)",
    )
    p.add_argument(
        "--statistic",
        choices=("p50", "min", "mean"),
        default=defaults.statistic,
        help="statistic of the timed runs stored/reported as the latency (default p50; min is robust on a busy machine)",
    )


def bench_from_args(args: argparse.Namespace) -> BenchOptions:
    bench = BenchOptions(
        args.threads,
        args.warmup_runs,
        args.warmup_time,
        args.min_runs,
        args.min_time,
        args.max_time,
        args.bench_batch,
        args.jit,
        args.clock,
        args.statistic,
        args.runtime,
        args.precision,
        args.rounds,
    )
    bench.validate()
    return bench


def connect_from_args(args: argparse.Namespace) -> ConnectOptions:
    if args.retries < 0:
        raise UserError(f"--retries: expected an integer >= 0, got {args.retries}")
    return ConnectOptions(args.target, args.remote_python, args.trust_new_host, args.known_hosts, args.retries, remote_dir=args.remote_dir)


def energy_from_args(args: argparse.Namespace) -> EnergyConfig:
    return parse_energy(args.energy, args.energy_root, args.vcgencmd)


def cancelled_error(reason: object, what: str) -> UserError:
    """The one line of a stopped profile/deploy: "cancelled by SIGTERM (what)", exit 130.

    reason: the runtime.Cancelled raised by the stop flag (its text is the signal's name).
    """
    return UserError(f"cancelled by {reason} ({what})", EXIT_INTERRUPTED)


def run_until_stopped(work: Callable[[Any], int], kept: Callable[[], str]) -> int:
    """work(stop) with SIGTERM/SIGINT turned into the stop flag it checks; a stop becomes the one
    cancel line (kept(): what was kept or lost) with exit 130."""
    from ..stopping import Cancelled, StopFlag  # torch-free: installed before anything slow loads

    stop = StopFlag()
    stop.install()
    try:
        return work(stop)
    except Cancelled as exc:
        raise cancelled_error(exc, kept()) from None
    finally:
        stop.restore()


def stderr_progress(prefix: str):
    """A progress callback that writes one line per event to stderr."""

    def report(event: Progress) -> None:
        if event.message:
            sys.stderr.write(f"{prefix}: {event.message}\n")
        else:
            lat = f"  {event.latency_s * 1e3:.4f} ms" if event.latency_s is not None else ""
            sys.stderr.write(f"{prefix}: [{event.done:4d}/{event.total}] {event.key}{lat}\n")
        sys.stderr.flush()

    return report
