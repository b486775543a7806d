"""hanna-tui deploy: export a run's childnet, run it on a target, store measured vs predicted cost.

With a profile of the target in its runtime, two of the profile's calibration networks are timed
beside the model and the prediction is scaled by how much faster or slower they run now than when
profiled (device/speed.py). Steps go to stderr ("deploy: ..."); the result is saved as RUN/deploy/TARGET-TIMESTAMP.json only
once the measurement is complete, and summarised on stdout (--json: the whole document).
SIGTERM/SIGINT stop it cleanly: the agent is ended on the target, the export's temp files go,
nothing is saved, and one line "hanna-tui: cancelled by SIGTERM (...)" says so.
Exit codes: 0 measured and saved, 1 failed (a full disk here, an internal error), 2 bad input or
the target cannot run the agent, 3 target unreachable (or a deadline passed), 130 cancelled by
SIGTERM/SIGINT.
"""

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
    # clock and statistic default to those of the target's profile that makes the prediction, else wall/p50
    p.set_defaults(func=run, clock=None, statistic=None)


def run(args) -> int:
    from ..device.cliargs import run_until_stopped

    return run_until_stopped(lambda stop: _run(args, stop), lambda: "the agent was stopped; nothing saved")


def _run(args, stop) -> int:
    from ..device.cliargs import bench_from_args, connect_from_args, energy_from_args
    from ..device.deploy import DeployRequest, deploy_run
    from ..store import find_run

    run_ = find_run(args.run_dir)
    follow = args.clock is None and args.statistic is None
    args.clock = args.clock or "wall"
    args.statistic = args.statistic or "p50"
    req = DeployRequest(
        run=run_,
        connect=connect_from_args(args),
        bench=bench_from_args(args),
        energy=energy_from_args(args),
        trained=not args.random_weights,
        deadline_s=args.deadline,
        follow_profile=follow,
        stop=stop,
    )
    with run_.lock("deploy"):  # one process per run directory (a second exits 2 naming the holder)
        path, result = deploy_run(req, lambda msg: sys.stderr.write(f"deploy: {msg}\n"))
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(summary_text(path, result))
    return 0


def summary_text(path, result: dict) -> str:
    """Measured beside the prediction of the same board and runtime, or why there is none."""
    m, p = result["measured"], result["predicted"]
    spread = f"  (even and odd rounds differ by {m['repeatability']:.1%})" if m.get("repeatability") is not None else ""
    lines = [
        f"{path}",
        f"  measured  latency {_ms(m['latency_s'])}  energy {_mj(m['energy_j'])}  [{m.get('runtime', 'torch')} on {result.get('device', '?')}]{spread}",
    ]
    if p.get("latency_s") is None:
        lines.append(f"  predicted: {p.get('note', 'n/a')}")
    else:
        kind = "calibrated" if p.get("calibrated") else "LUT sum"
        if p.get("speed"):
            kind += f", at the board's speed now: x{p['speed']['factor']:.3f} of {_ms(p.get('latency_as_profiled_s'))} as profiled"
        ratio = m["latency_s"] / p["latency_s"] if p["latency_s"] else None
        ratio_text = f"  measured/predicted {ratio:.2f}" if ratio else ""
        lines.append(
            f"  predicted latency {_ms(p['latency_s'])} ({kind}, {p.get('device')}: {p.get('profile')})  energy {_mj(p.get('energy_j'))}{ratio_text}"
        )
    return "\n".join(lines) + "\n"


def _ms(value) -> str:
    return "n/a" if value is None else f"{value * 1e3:.3f} ms"


def _mj(value) -> str:
    return "n/a" if value is None else f"{value * 1e3:.4f} mJ"
