"""The search service: a checked config in, a finished (or cancelled, or failed) run directory out.

`hanna-tui search` is a thin caller of run_search(); the dashboard and the batch start that
command as a process of its own and read the run directory. Order of work, so that a second
process on the same directory and bad input never cost the user anything:

1. take the run directory's lock (a second start exits 2 naming the holder, before any torch work);
2. check what is there (--resume needs a checkpoint unless the run was only queued);
3. load and check the profile, the device and the data (every bad input is a UserError);
4. open the run: run.json once (search_meta, the same keys for every front end), this process
   recorded as the run's (pid, host, start time) once, one StopFlag installed;
5. the loop (hanna_tui.nas.search.execute): the checkpoint is checked, then config.toml written.

Importing this module does not import torch (the dashboard builds run.json with search_meta).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import SearchConfig, resolve_near
from ..errors import UserError
from ..profiles import DeviceProfile, check_profile_matches, check_search_network, load_profile, proxy_record
from ..store import Run, RunLock, create_run, create_run_at, data_meta, lead_process

Announce = Callable[[Run], None]


@dataclass
class Prepared:
    cfg: SearchConfig
    profile: DeviceProfile
    train: Any
    val: Any
    test: Any
    num_classes: int


@dataclass
class SearchRequest:
    """What a front end asks for: the config, where relative paths are read from, the run."""

    cfg: SearchConfig
    base: Path
    run_dir: str | None = None
    resume: bool = False
    origin: str = "cli"  # cli | tui | batch (run.json's origin of a run this process creates)


def search_meta(cfg: SearchConfig, profile: DeviceProfile | None, origin: str) -> dict[str, Any]:
    """run.json fields of a search (store.META_KEYS["search"]); without a profile its device and
    hash stay empty for the search process to fill in (Run.complete_meta)."""
    k = cfg.knobs
    return {
        "origin": origin,
        "knobs": {"alpha": k.alpha, "beta": k.beta, "gamma": k.gamma, "delta": k.delta},
        "loss_form": k.form,
        "space": cfg.space.name,
        "width_mult": cfg.space.width_mult,
        "mode": cfg.search.mode,
        "device": profile.device_name if profile else "",
        "profile": cfg.profile.path,
        "profile_hash": profile.content_hash if profile else "",
        "proxy": proxy_record(cfg, profile).get("proxy") if profile else None,
        "data": data_meta(cfg.data),
    }


def prepare(cfg: SearchConfig, base: Path) -> Prepared:
    """Load and check the profile, the device and the data (every bad input is a UserError)."""
    from ..data import build_datasets, split_train_val
    from ..runtime import pick_device
    from ..space import get_space
    from .budget import check_budgets

    profile = load_profile(resolve_near(cfg.profile.path, base))
    check_profile_matches(profile, cfg.space.name)
    check_budgets(cfg.constraints, profile)  # a budget no architecture of the profile can meet: one line, exit 2
    pick_device(cfg.run.device)
    default_classes = get_space(cfg.space.name, cfg.space.width_mult).num_classes
    augment = cfg.data.name != "synthetic"
    bundle = build_datasets(cfg.data, get_space(cfg.space.name).input_size, augment, cfg.run.seed, default_classes)
    check_search_network(profile, cfg, bundle.num_classes)  # the supernet is the profile's network or a declared proxy
    train, val = split_train_val(bundle.train, cfg.data.val_fraction, cfg.run.seed)
    if len(train) < 2 or len(val) < 2:
        raise UserError(
            f"data: {len(bundle.train)} training images are too few to hold out {cfg.data.val_fraction:.0%} for theta (expected at least 2 in each part)"
        )
    return Prepared(cfg, profile, train, val, bundle.test, bundle.num_classes)


def existing_run(request: SearchRequest) -> Run | None:
    """The run in --run-dir when there is one, checked against what was asked (resume or not)."""
    if not request.run_dir:
        if request.resume:
            raise UserError("--resume needs --run-dir DIR (the run to continue)")
        return None
    run = Run(request.run_dir)
    if not run.exists():
        if request.resume:
            raise UserError(f"--run-dir {request.run_dir}: not a run directory (no run.json) to resume")
        return None
    has_checkpoint = run.checkpoint_path.is_file()
    if not request.resume and has_checkpoint:
        raise UserError(f"--run-dir {request.run_dir}: already has a checkpoint (expected --resume to continue it, or a new run directory)")
    state = run.status().get("state", "queued")
    if request.resume and not has_checkpoint and state not in ("queued", "done"):
        raise UserError(
            f"--run-dir {request.run_dir}: no checkpoint to resume from (the search stopped before its first epoch ended); "
            "start it again without --resume"
        )
    return run


def run_search(request: SearchRequest, announce: Announce) -> int:
    """Run one search as this process; returns the exit code (0, 1, 130; bad input raises UserError)."""
    lock = Run(request.run_dir).lock("search") if request.run_dir and lead_process() else None
    try:
        previous = existing_run(request)
        if previous is not None and request.resume and previous.status().get("state") == "done":
            announce(previous)
            sys.stderr.write(f"{previous.path}: the search is already done\n")
            return 0
        return _search(request, previous, lock, announce)
    finally:
        if lock is not None:
            lock.release()


def _search(request: SearchRequest, previous: Run | None, lock: RunLock | None, announce: Announce) -> int:
    from ..distributed import init_from_env
    from ..runtime import StopFlag
    from .search import Search, execute

    dist = init_from_env()  # several processes under torchrun, else one
    cfg = request.cfg
    prepared = prepare(cfg, request.base)
    if request.resume and cfg.profile.hash and cfg.profile.hash != prepared.profile.content_hash:
        sys.stderr.write(f"warning: {prepared.profile.path} changed since the run started (content hash differs)\n")
    cfg.profile.hash = prepared.profile.content_hash
    stop = StopFlag()
    stop.install()  # from here on SIGTERM/SIGINT cancel cleanly (the dashboard may signal the pid at once)
    run, own_lock = _open(request, prepared, previous, lock, dist, announce)
    try:
        try:
            search = Search(cfg, run, prepared.profile, prepared.train, prepared.val, prepared.test, prepared.num_classes, dist, stop)
        except UserError as exc:
            run.mark_ended("failed", str(exc))
            raise
        return execute(search, request.resume)
    finally:
        if own_lock is not None:
            own_lock.release()


def _open(request: SearchRequest, prepared: Prepared, previous: Run | None, lock: RunLock | None, dist, announce: Announce):
    """Rank 0 (or the only process) opens, claims and announces the run; other ranks follow it read-only.
    Returns the run and the lock this call took (a new run under the runs root), if any."""
    from ..distributed import FollowerRun, barrier

    if not dist.is_main:
        barrier(dist)
        return FollowerRun(request.run_dir), None
    meta = search_meta(prepared.cfg, prepared.profile, request.origin)
    own_lock = None
    if previous is not None:
        run = previous
        run.complete_meta(meta)
        if lock is not None:
            lock.keep_dir()
    elif request.run_dir:
        run = create_run_at(request.run_dir, prepared.cfg.run.name, "search", meta, lock=lock)
    else:
        run = create_run(prepared.cfg.run.name, "search", None, meta)
        own_lock = run.lock("search")
    run.claim(world_size=dist.world_size)
    announce(run)
    barrier(dist)
    return run, own_lock
