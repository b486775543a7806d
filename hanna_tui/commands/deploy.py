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
    p.set_defaults(func=run)


def run(args) -> int:
    from ..device.cliargs import bench_from_args, connect_from_args, energy_from_args
    from ..device.deploy import DeployRequest, deploy_run
    from ..store import find_run

    req = DeployRequest(
        run=find_run(args.run_dir),
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
