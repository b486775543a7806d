"""hanna-tui profile: measure a device profile (lookup tables) on a target over SSH or locally.

Progress goes to stderr, one line per measured block ("profile: [  done/total] KEY  LATENCY").
Every measured block is kept in OUT.partial.json as it arrives; the TOML is written only when the
table is complete, and the same command run again resumes from the partial state.
SIGTERM/SIGINT stop it cleanly: the agent is ended on the target, temp files go, the partial state
stays (the resume), no TOML is written, and one line "hanna-tui: cancelled by SIGTERM (...)" says
how many blocks were kept.
Exit codes: 0 written, 1 failed (a full disk here, an internal error), 2 bad input or the target
cannot run the agent, 3 target unreachable (or a deadline passed), 130 cancelled by SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..space import SPACE_NAMES


def register(sub) -> None:
    from ..device.cliargs import add_bench_args, add_target_args
    from ..device.profiler import CALIB_NETWORKS, BenchOptions

    p = sub.add_parser("profile", help="measure a device profile (lookup tables) on a target over SSH or locally")
    add_target_args(p, "HOST (~/.ssh/config alias or user@host[:port]) or 'local'")
    p.add_argument("--space", default="fbnet-cifar10", choices=SPACE_NAMES, help="search space (default fbnet-cifar10)")
    p.add_argument("--width-mult", type=float, default=1.0, help="channel width multiplier of the space (default 1.0)")
    p.add_argument("--out", required=True, help="profile TOML to write, e.g. profiles/mypi.toml")
    p.add_argument("--name", default="", help="device name stored in the profile (default: the board model)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument(
        "--calib-networks",
        type=int,
        default=CALIB_NETWORKS,
        help=f"whole networks measured after the blocks to fit the calibration stored in the profile (default {CALIB_NETWORKS}; 0: none)",
    )
    add_bench_args(p, BenchOptions())
    p.set_defaults(func=run)


def run(args) -> int:
    from ..device.cliargs import run_until_stopped

    return run_until_stopped(lambda stop: _run(args, stop), lambda: kept_note(Path(args.out), args.space, args.width_mult))


def _run(args, stop) -> int:
    from ..device.cliargs import bench_from_args, connect_from_args, energy_from_args, stderr_progress
    from ..device.profiler import ProfileRequest, profile_target
    from ..errors import UserError

    if not 0 <= args.calib_networks <= 200 or args.calib_networks == 1:
        raise UserError(f"--calib-networks: expected 0 or 2..200, got {args.calib_networks}")
    if not args.width_mult > 0:
        raise UserError(f"--width-mult: expected a number > 0, got {args.width_mult}")
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out}: is a directory (expected a .toml file path)")
    folder = out.parent if str(out.parent) else Path(".")
    try:  # made and checked before measuring, not after
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"--out {out}: cannot make the folder {folder} ({exc.strerror or exc}); expected a path where the profile can be written"
        ) from None
    if not os.access(folder, os.W_OK):
        raise UserError(f"--out {out}: {folder} is not a writable folder (expected a path where the profile can be written)")
    req = ProfileRequest(
        connect=connect_from_args(args),
        out=out,
        space=args.space,
        width_mult=args.width_mult,
        bench=bench_from_args(args),
        energy=energy_from_args(args),
        device_name=args.name,
        deadline_s=args.deadline,
        calib_networks=args.calib_networks,
        stop=stop,
    )
    profile = profile_target(req, stderr_progress("profile"))
    summary = {
        "out": str(out),
        "device": profile.device_name,
        "space": profile.space_name,
        "runtime": profile.provenance.get("runtime"),
        "elapsed_s": profile.measurement.get("elapsed_s"),
        "energy": profile.energy is not None,
        "calibration_fit_mape": profile.calibration.get("fit_mape"),
        "repeatability": profile.calibration.get("repeatability"),
    }
    if args.json:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        sys.stderr.write(f"profile: wrote {out} ({profile.device_name}, {summary['runtime']}, {summary['elapsed_s']} s)\n")
    return 0


def kept_note(out: Path, space: str, width_mult: float) -> str:
    """What a stop left: the blocks kept in the partial state for a resume, or nothing measured."""
    from ..device.profiler import all_keys, partial_path
    from ..fsutil import read_json
    from ..space import get_space

    partial = partial_path(out)
    try:
        state = read_json(partial)
        kept = len(state["records"]) if isinstance(state, dict) and isinstance(state.get("records"), dict) else 0
        total = len(all_keys(get_space(space, width_mult)))
    except Exception:  # noqa: BLE001 - the note of an exit, never a second error
        kept, total = 0, 0
    if not kept:
        return f"nothing measured; {out} not written"
    return f"{out} not written; {kept}/{total} blocks kept in {partial}, the same command resumes from them"
