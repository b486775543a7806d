"""hanna-tui report [RUN ...] --out DIR: the paper's figures (Fig. 7-10), accuracy against latency and
energy with the baselines and the Pareto front, and every run's theta and per-epoch curves, as PNG
and SVG files with an index.md (all figures, a table of the runs) and data.json (the plotted numbers).

RUN is a run directory or a run id (or unique id prefix) under the runs root; with none, every run
under the root. A run that cannot be read is left out with one line on stderr; a RUN that is not a
run, or nothing to report on, is one line and exit 2. Prints the files written, one per line.
Needs matplotlib (pip install 'hanna-tui[report]').
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from ..store import find_run, list_runs, runs_root
from .common import add_command


def register(sub) -> None:
    p = add_command(sub, "report", "write figures of runs (PNG, SVG) with index.md and data.json", __doc__)
    p.add_argument("runs", nargs="*", metavar="RUN", help="run directories or ids (default: every run under the runs root)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the report (created if missing)")
    p.add_argument("--root", default=None, help="runs directory (default: $HANNA_RUNS or runs/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.runs:
        paths = [find_run(ref, args.root).path for ref in args.runs]
    else:
        paths = [Path(s.path) for s in sorted(list_runs(args.root, require_dir=True), key=lambda s: s.id)]
        if not paths:
            raise UserError(f"no runs under {runs_root(args.root)}: nothing to report (name RUN directories or set --root)")
    try:
        from ..report import write_report
    except ModuleNotFoundError as exc:
        if exc.name == "matplotlib":
            raise UserError("hanna-tui report needs matplotlib: pip install 'hanna-tui[report]'") from None
        raise
    for path in write_report(paths, Path(args.out)):
        print(path, flush=True)
    return 0
