"""hanna-tui search: one architecture search as this process, writing its run directory.

    hanna-tui search --config FILE [--run-dir DIR] [--resume] [--set SECTION.KEY=VALUE ...]
    hanna-tui search --demo [--run-dir DIR] [--set ...]

The first line on stdout is the run directory; progress goes to stderr. Everything the user
gave (config, overrides, profile, data, device) is checked before a run directory is created.
Exit codes: 0 done, 1 the search failed (status failed, traceback in DIR/error.log), 2 bad input,
130 cancelled by SIGTERM/SIGINT (checkpoint saved; continue with --resume).
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import SearchConfig, demo_config, load_config, resolve_near, set_override
from ..errors import UserError
from ..profiles import DeviceProfile, check_profile_matches, check_search_network, load_profile, proxy_record
from ..store import Run, create_run, create_run_at, pid_alive


def register(sub) -> None:
    p = sub.add_parser("search", help="run an architecture search as this process, writing its run directory")
    p.add_argument("--config", help="run config (TOML); default with --run-dir: DIR/config.toml")
    p.add_argument("--demo", action="store_true", help="use the embedded demo config (generated data, slim supernet, sampled mode)")
    p.add_argument("--run-dir", help="run directory to use (created if needed; default: a new one under $HANNA_RUNS or runs/)")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its checkpoint")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override one config value (repeatable), e.g. search.epochs=3")
    p.set_defaults(func=run)


@dataclass
class Prepared:
    cfg: SearchConfig
    profile: DeviceProfile
    train: Any
    val: Any
    test: Any
    num_classes: int


def load_search_config(args) -> tuple[SearchConfig, Path]:
    """The config and the folder its relative paths may also be read from."""
    if args.demo and args.config:
        raise UserError("search: give either --config FILE or --demo, not both")
    if args.demo:
        cfg, base = demo_config(), Path.cwd()
    elif args.config:
        cfg, base = load_config(args.config), Path(args.config).resolve().parent
    elif args.run_dir and (Path(args.run_dir) / "config.toml").is_file():
        path = Path(args.run_dir) / "config.toml"
        cfg, base = load_config(path), path.resolve().parent
    else:
        raise UserError("search: missing --config FILE (or --demo, or --run-dir DIR holding config.toml)")
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item}: expected SECTION.KEY=VALUE, e.g. search.epochs=3")
        set_override(cfg, key.strip(), value.strip(), f"--set {key.strip()}")
    return cfg, base


def prepare(cfg: SearchConfig, base: Path) -> Prepared:
    """Load and check the profile, the device and the data (every bad input is a UserError)."""
    from ..data import build_datasets, split_train_val
    from ..nas.search import pick_device
    from ..space import get_space

    profile = load_profile(resolve_near(cfg.profile.path, base))
    check_profile_matches(profile, cfg.space.name)
    pick_device(cfg.run.device)
    default_classes = get_space(cfg.space.name, cfg.space.width_mult).num_classes
    augment = cfg.data.name != "synthetic"
    bundle = build_datasets(cfg.data, get_space(cfg.space.name).input_size, augment, cfg.run.seed, default_classes)
    check_search_network(profile, cfg, bundle.num_classes)  # the supernet is the profile's network or a declared proxy
    train, val = split_train_val(bundle.train, cfg.data.val_fraction, cfg.run.seed)
    if len(train) < 2 or len(val) < 2:
        raise UserError(f"data: {len(bundle.train)} training images are too few to hold out {cfg.data.val_fraction:.0%} for theta (expected at least 2 in each part)")
    return Prepared(cfg, profile, train, val, bundle.test, bundle.num_classes)


def run_metadata(cfg: SearchConfig, profile: DeviceProfile) -> dict[str, Any]:
    k = cfg.knobs
    return {
        "knobs": {"alpha": k.alpha, "beta": k.beta, "gamma": k.gamma, "delta": k.delta},
        "loss_form": k.form,
        "space": cfg.space.name,
        "width_mult": cfg.space.width_mult,
        "mode": cfg.search.mode,
        "device": profile.device_name,
        "profile": cfg.profile.path,
        "profile_hash": profile.content_hash,
        **proxy_record(cfg, profile),
        "data": cfg.data.name,
    }


def existing_run(args) -> Run | None:
    if not args.run_dir:
        if args.resume:
            raise UserError("--resume needs --run-dir DIR (the run to continue)")
        return None
    run_ = Run(args.run_dir)
    if not run_.exists():
        if args.resume:
            raise UserError(f"--run-dir {args.run_dir}: not a run directory (no run.json) to resume")
        return None
    status = run_.status()
    if status.get("state") == "running" and pid_alive(status.get("pid")) and status.get("pid") != os.getpid():
        raise UserError(f"--run-dir {args.run_dir}: a search is already running there (pid {status.get('pid')})")
    if not args.resume and run_.checkpoint_path.is_file():
        raise UserError(f"--run-dir {args.run_dir}: already has a checkpoint (expected --resume to continue it, or a new run directory)")
    return run_


def open_run(args, prepared: Prepared) -> Run:
    cfg = prepared.cfg
    meta = run_metadata(cfg, prepared.profile)
    if args.run_dir:
        run_ = Run(args.run_dir)
        return run_ if run_.exists() else create_run_at(args.run_dir, cfg.run.name, "search", meta)
    return create_run(cfg.run.name, "search", None, meta)


def run(args) -> int:
    from ..distributed import init_from_env

    dist = init_from_env()  # several processes under torchrun, else one
    if dist.enabled and not args.run_dir:
        raise UserError("search under torchrun needs --run-dir DIR (every rank works on the same run directory)")
    cfg, base = load_search_config(args)
    previous = existing_run(args)
    if previous is not None and args.resume and previous.status().get("state") == "done":
        print(previous.path, flush=True)
        sys.stderr.write(f"{previous.path}: the search is already done\n")
        return 0
    try:
        prepared = prepare(cfg, base)
    except UserError as exc:
        if previous is not None:
            previous.update_status(state="failed", error=str(exc))
        raise
    if args.resume and cfg.profile.hash and cfg.profile.hash != prepared.profile.content_hash:
        sys.stderr.write(f"warning: {prepared.profile.path} changed since the run started (content hash differs)\n")
    cfg.profile.hash = prepared.profile.content_hash
    from ..nas.search import StopFlag

    stop = StopFlag()
    stop.install()  # from here on SIGTERM/SIGINT cancel cleanly (the dashboard may signal the pid at once)
    run_ = follow_or_open_run(args, prepared, dist)
    return start(args, run_, prepared, stop, dist)


def follow_or_open_run(args, prepared: Prepared, dist) -> Run:
    """Rank 0 (or the only process) opens and announces the run; other ranks follow it read-only."""
    from ..distributed import FollowerRun, barrier

    if not dist.is_main:
        barrier(dist)
        return FollowerRun(args.run_dir)
    run_ = open_run(args, prepared)
    run_.write_config_text(prepared.cfg.to_toml())
    run_.update_status(pid=os.getpid(), host=socket.gethostname(), world_size=dist.world_size)
    print(run_.path, flush=True)
    barrier(dist)
    return run_


def start(args, run_: Run, prepared: Prepared, stop, dist=None) -> int:
    from ..nas.search import Search, execute

    try:
        search = Search(prepared.cfg, run_, prepared.profile, prepared.train, prepared.val, prepared.test, prepared.num_classes, dist)
    except UserError as exc:
        run_.update_status(state="failed", error=str(exc))
        raise
    search.stop = stop
    return execute(search, args.resume)
