"""hanna-tui sample: the childnet of a run (or of a theta file) and its predicted cost."""

from __future__ import annotations

from pathlib import Path

from .. import fmt
from ..errors import UserError
from ..profiles import check_profile_matches, load_profile
from ..sampling import sample_arch, write_arch
from ..theta import read_theta
from .common import print_json


def register(sub) -> None:
    p = sub.add_parser("sample", help="sample the childnet (argmax of theta per layer)")
    p.add_argument("run_dir", nargs="?", help="run directory (or id) whose theta.txt to sample")
    p.add_argument("--theta", help="theta file in the authors' format (22 lines of 9 values)")
    p.add_argument("--profile", help="device profile (default: the run's)")
    p.add_argument("--space", default=None, help="search space of a theta file (default: the profile's)")
    p.add_argument("--stochastic", action="store_true", help="draw from softmax(theta) instead of argmax")
    p.add_argument("--seed", type=int, default=0, help="seed of a stochastic draw")
    p.add_argument("--out", help="where to write arch.json (default: RUN_DIR/arch.json, or none for --theta)")
    p.add_argument("--json", action="store_true", help="print arch.json")
    p.set_defaults(func=run)


def run(args) -> int:
    if bool(args.run_dir) == bool(args.theta):
        raise UserError("sample: give either RUN_DIR or --theta FILE --profile PROFILE")
    out = Path(args.out) if args.out else None
    if args.run_dir:
        from ..sampling import sample_run
        from ..store import find_run

        run_ = find_run(args.run_dir)
        arch = sample_run(run_, args.profile, args.stochastic, args.seed)
        arch["run"] = str(args.run_dir)
        out = out or run_.arch_path
    else:
        if not args.profile:
            raise UserError("sample: --theta needs --profile PROFILE")
        profile = load_profile(args.profile)
        if args.space:
            check_profile_matches(profile, args.space, "--space")
        space = profile.space()
        arch = sample_arch(read_theta(args.theta, space), space, profile, args.stochastic, args.seed)
    if out:
        write_arch(out, arch)
    if args.json:
        print_json(arch)
    else:
        print(render_text(arch, out))
    return 0


def render_text(arch: dict, out: Path | None) -> str:
    lines = [f"childnet ({arch['method']}) on {arch['space']}, profile {arch['profile']}"]
    for i, (name, p) in enumerate(zip(arch["choices"], arch["probabilities"], strict=True)):
        lines.append(f"  layer {i:2d}  {name:9s}  p={p:.3f}")
    pred = arch["predicted"]
    lines.append(f"predicted latency {fmt.latency(pred['latency_s'])}, energy {fmt.energy(pred['energy_j'])}")
    if out:
        lines.append(f"wrote {out}")
    return "\n".join(lines)
