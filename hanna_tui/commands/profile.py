"""hanna-tui profile: measure a device profile (lookup tables) on a target over SSH or locally."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..space import SPACE_NAMES


def register(sub) -> None:
    from ..device.cliargs import add_bench_args, add_target_args
    from ..device.profiler import BenchOptions

    p = sub.add_parser("profile", help="measure a device profile (lookup tables) on a target over SSH or locally")
    add_target_args(p, "HOST (~/.ssh/config alias or user@host[:port]) or 'local'")
    p.add_argument("--space", default="fbnet-cifar10", choices=SPACE_NAMES, help="search space (default fbnet-cifar10)")
    p.add_argument("--width-mult", type=float, default=1.0, help="channel width multiplier of the space (default 1.0)")
    p.add_argument("--out", required=True, help="profile TOML to write, e.g. profiles/mypi.toml")
    p.add_argument("--name", default="", help="device name stored in the profile (default: the board model)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    add_bench_args(p, BenchOptions())
    p.set_defaults(func=run)


def run(args) -> int:
    from ..device.cliargs import bench_from_args, connect_from_args, energy_from_args, stderr_progress
    from ..device.profiler import ProfileRequest, profile_target
    from ..errors import UserError

    if not args.width_mult > 0:
        raise UserError(f"--width-mult: expected a number > 0, got {args.width_mult}")
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out}: is a directory (expected a .toml file path)")
    req = ProfileRequest(
        connect=connect_from_args(args),
        out=out,
        space=args.space,
        width_mult=args.width_mult,
        bench=bench_from_args(args),
        energy=energy_from_args(args),
        device_name=args.name,
        deadline_s=args.deadline,
    )
    profile = profile_target(req, stderr_progress("profile"))
    summary = {"out": str(out), "device": profile.device_name, "space": profile.space_name,
               "elapsed_s": profile.measurement.get("elapsed_s"), "energy": profile.energy is not None}
    if args.json:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        sys.stderr.write(f"profile: wrote {out} ({profile.device_name}, {summary['elapsed_s']} s)\n")
    return 0
