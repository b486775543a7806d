"""hanna-tui deploy: export a run's childnet, run it on a target, store measured vs predicted cost."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    from ..device.cliargs import add_bench_args, add_target_args
    from ..device.profiler import BenchOptions

    p = sub.add_parser("deploy", help="export a run's model, run it on a target and store measured latency/energy")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory (or run id)")
    add_target_args(p, "HOST (~/.ssh/config alias or user@host[:port]) or 'local'")
    p.add_argument("--random-weights", action="store_true", help="deploy with random weights even when trained weights exist")
    p.add_argument("--json", action="store_true", help="print the result document on stdout")
    add_bench_args(p, BenchOptions(min_runs=100, min_s=1.0, max_s=30.0, warmup_runs=10, warmup_s=0.5))
    # clock and statistic default to those of the profile that made the prediction (arch.json), else wall/p50
    p.set_defaults(func=run, clock=None, statistic=None)


def run(args) -> int:
    from ..device.cliargs import bench_from_args, connect_from_args, energy_from_args
    from ..device.deploy import DeployRequest, deploy_run
    from ..store import find_run

    run_ = find_run(args.run_dir)
    profile_clock, profile_stat = profile_measurement(run_)
    args.clock = args.clock or profile_clock
    args.statistic = args.statistic or profile_stat
    req = DeployRequest(
        run=run_,
        connect=connect_from_args(args),
        bench=bench_from_args(args),
        energy=energy_from_args(args),
        trained=not args.random_weights,
        deadline_s=args.deadline,
    )
    path, result = deploy_run(req, lambda msg: sys.stderr.write(f"deploy: {msg}\n"))
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        m, p = result["measured"], result["predicted"]
        sys.stdout.write(f"{path}\n  measured  latency {_ms(m['latency_s'])}  energy {_mj(m['energy_j'])}\n"
                         f"  predicted latency {_ms(p['latency_s'])}  energy {_mj(p['energy_j'])}\n")
    return 0


def _ms(value) -> str:
    return "n/a" if value is None else f"{value * 1e3:.3f} ms"


def _mj(value) -> str:
    return "n/a" if value is None else f"{value * 1e3:.4f} mJ"


def profile_measurement(run) -> tuple[str, str]:
    """(clock, statistic) of the profile named in arch.json, so measured and predicted compare like with like."""
    from pathlib import Path

    arch = run.arch() or {}
    path = arch.get("profile") if isinstance(arch, dict) else None
    if path and Path(path).is_file():
        from ..errors import UserError
        from ..profiles import load_profile

        try:
            m = load_profile(path).measurement
        except UserError:
            return "wall", "p50"
        clock, stat = str(m.get("clock", "wall")), str(m.get("statistic", "p50"))
        if clock in ("wall", "cpu") and stat in ("p50", "min", "mean"):
            return clock, stat
    return "wall", "p50"
