"""hanna-tui runs: every run with status, knobs, progress and predicted cost."""

from __future__ import annotations

from .. import fmt
from ..knobs import KNOB_NAMES
from ..store import list_runs
from .common import print_json


def register(sub) -> None:
    p = sub.add_parser("runs", help="list runs with status, knobs, progress and predicted cost")
    p.add_argument("--root", default=None, help="runs directory (default: $HANNA_RUNS or runs/)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run)


def run(args) -> int:
    runs = list_runs(args.root, require_dir=True)
    if args.json:
        print_json([r.to_dict() for r in runs])
        return 0
    if not runs:
        print("no runs yet: start one with `hanna-tui search --config examples/demo-search.toml` or `make run`")
        return 0
    header = f"{'id':38s} {'kind':8s} {'state':11s} {'epoch':>7s} {'alpha':>5s} {'beta':>5s} {'gamma':>5s} {'delta':>5s} {'lat':>9s} {'ener':>9s} {'acc':>6s}"
    print(header)
    for r in runs:
        k = r.knobs
        epoch = f"{r.epoch}/{r.total_epochs}" if r.total_epochs else "-"
        acc = r.top1 if r.top1 is not None else r.search_acc
        print(
            f"{fmt.printable(r.id)[:38]:38s} {fmt.printable(r.kind)[:8]:8s} {fmt.printable(r.state):11s} {epoch:>7s} "
            + " ".join(f"{k.get(n, float('nan')):5.2f}" if n in k else f"{'-':>5s}" for n in KNOB_NAMES)
            + f" {fmt.latency(r.pred_latency_s):>9s} {fmt.energy(r.pred_energy_j):>9s} {fmt.pct(acc):>6s}"
        )
    for r in runs:
        if r.state == "unreadable":
            print(f"{fmt.printable(r.id)}: {fmt.printable(r.error)}")
    return 0
