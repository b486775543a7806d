"""hanna-tui search: one architecture search as this process, writing its run directory.

    hanna-tui search --config FILE [--run-dir DIR] [--resume] [--set SECTION.KEY=VALUE ...]
    hanna-tui search --demo [--run-dir DIR] [--set ...]

The first line on stdout is the run directory; progress goes to stderr. Everything the user
gave (config, overrides, profile, data, device) is checked before a run directory is created.
One process per run directory: a second start on the same --run-dir exits 2 naming the holder.
--resume continues from the checkpoint; without one it is refused unless the run was only queued.
Valid knobs that are probably not meant (beta or delta < 0: the penalty then rewards slower or
costlier networks) start the search with one "warning: ..." line on stderr each.
Exit codes: 0 done, 1 the search failed (status failed, traceback in DIR/error.log), 2 bad input,
130 cancelled by SIGTERM/SIGINT (checkpoint saved; continue with --resume).

The work itself is the search service, hanna_tui.nas.run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..config import SearchConfig, demo_config, load_config, set_overrides
from ..errors import UserError
from ..knobs import knob_warnings
from ..store import ORIGINS, Run


def register(sub) -> None:
    p = sub.add_parser("search", help="run an architecture search as this process, writing its run directory")
    p.add_argument("--config", help="run config (TOML); default with --run-dir: DIR/config.toml")
    p.add_argument("--demo", action="store_true", help="use the embedded demo config (generated data, slim supernet, sampled mode)")
    p.add_argument("--run-dir", help="run directory to use (created if needed; default: a new one under $HANNA_RUNS or runs/)")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its checkpoint")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config value (repeatable), e.g. search.epochs=3",
    )
    p.add_argument("--origin", choices=ORIGINS, default="cli", help=argparse.SUPPRESS)  # run.json's origin (the batch passes batch)
    p.set_defaults(func=run)


def load_search_config(args) -> tuple[SearchConfig, Path]:
    """The config and the folder its relative paths may also be read from."""
    if args.demo and args.config:
        raise UserError("search: give either --config FILE or --demo, not both")
    if args.demo:
        cfg, base = demo_config(), Path.cwd()
    elif args.config:
        cfg, base = load_config(args.config), Path(args.config).resolve().parent
    elif args.run_dir and Run(args.run_dir).config_path.is_file():
        path = Run(args.run_dir).config_path
        cfg, base = load_config(path), path.resolve().parent
    else:
        raise UserError("search: missing --config FILE (or --demo, or --run-dir DIR holding config.toml)")
    items = []
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item}: expected SECTION.KEY=VALUE, e.g. search.epochs=3")
        items.append((key.strip(), value.strip()))
    if items:
        set_overrides(cfg, items, "--set " + " ".join(k for k, _ in items))
    return cfg, base


def run(args) -> int:
    from ..nas.run import SearchRequest, run_search

    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 and not args.run_dir:
        raise UserError("search under torchrun needs --run-dir DIR (every rank works on the same run directory)")
    cfg, base = load_search_config(args)
    for line in knob_warnings(cfg.knobs):  # valid but probably not meant (a negative exponent): one line each
        print(f"warning: {line}", file=sys.stderr, flush=True)
    request = SearchRequest(cfg, base, args.run_dir, args.resume, getattr(args, "origin", "cli"))
    return run_search(request, lambda run_: print(run_.path, flush=True))
