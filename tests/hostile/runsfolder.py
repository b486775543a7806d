"""A runs folder with one run per bad-file case (and good runs beside them), planted for the tests.

Each case names the run directory, how to plant it, and what a listing must show: "unreadable"
(the run is one marked row naming the file) or "tolerated" (wrong types inside valid JSON read
field by field; the row shows the run's stored state).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GOOD_STATUS = {"state": "done", "epoch": 2, "total_epochs": 2, "progress": 1.0, "best_acc": 0.5, "updated": "2026-12-01T10:00:00+00:00"}
GOOD_META = {
    "id": "",
    "kind": "search",
    "name": "good",
    "created": "2026-12-01T09:00:00+00:00",
    "knobs": {"alpha": 0.2, "beta": 0.6, "gamma": 0.2, "delta": 0.6},
    "space": "fbnet-cifar10",
    "mode": "sampled",
}


@dataclass(frozen=True)
class RunCase:
    name: str
    expect: str  # "good" | "unreadable" | "tolerated"
    plant: Callable[[Path], None]
    file: str = ""  # the file an unreadable row names


def _json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")


def _base(run: Path, status: dict | None = None) -> None:
    run.mkdir(parents=True, exist_ok=True)
    _json(run / "run.json", {**GOOD_META, "id": run.name, "name": run.name})
    _json(run / "status.json", status if status is not None else GOOD_STATUS)
    with open(run / "metrics.jsonl", "w", encoding="utf-8") as out:
        for epoch in (1, 2):
            out.write(json.dumps({"kind": "epoch", "epoch": epoch, "acc": 0.25 * epoch, "loss": 2.0 / epoch}) + "\n")


def _raw(name: str, data: bytes) -> Callable[[Path], None]:
    def plant(run: Path) -> None:
        _base(run)
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_bytes(data)

    return plant


def _status(value) -> Callable[[Path], None]:
    return lambda run: _base(run, value)


def _link(name: str, target: str) -> Callable[[Path], None]:
    def plant(run: Path) -> None:
        _base(run)
        (run / name).unlink(missing_ok=True)
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, run / name)

    return plant


def _fifo(name: str) -> Callable[[Path], None]:
    def plant(run: Path) -> None:
        _base(run)
        (run / name).unlink(missing_ok=True)
        os.mkfifo(run / name)

    return plant


def _dir(name: str) -> Callable[[Path], None]:
    def plant(run: Path) -> None:
        _base(run)
        (run / name).unlink(missing_ok=True)
        (run / name).mkdir()

    return plant


def _deploy(value) -> Callable[[Path], None]:
    def plant(run: Path) -> None:
        _base(run)
        _json(run / "deploy" / "20261201-local.json", value)

    return plant


def _deploy_raw(data: bytes) -> Callable[[Path], None]:
    def plant(run: Path) -> None:
        _base(run)
        (run / "deploy").mkdir()
        (run / "deploy" / "20261201-local.json").write_bytes(data)

    return plant


def _with(name: str, value) -> Callable[[Path], None]:
    def plant(run: Path) -> None:
        _base(run)
        _json(run / name, value)

    return plant


NAN = float("nan")
DEEP = b"[" * 100_000 + b"]" * 100_000

RUN_CASES: list[RunCase] = [
    RunCase("good-a", "good", _base),
    RunCase("good-b", "good", lambda run: _base(run, {**GOOD_STATUS, "state": "failed", "error": "boom"})),
    RunCase("status-list", "unreadable", _status([1, 2, 3]), "status.json"),
    RunCase("status-string", "unreadable", _status("done"), "status.json"),
    RunCase("status-null", "tolerated", _status(None)),
    RunCase("status-not-utf8", "unreadable", _raw("status.json", b'{"state": "\xff\xfe"}'), "status.json"),
    RunCase("status-deep", "unreadable", _raw("status.json", DEEP), "status.json"),
    RunCase("status-deep-object", "unreadable", _raw("status.json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000), "status.json"),
    RunCase("status-truncated", "unreadable", _raw("status.json", b'{"state": "running", "epo'), "status.json"),
    RunCase("status-empty", "unreadable", _raw("status.json", b""), "status.json"),
    RunCase("status-binary", "unreadable", _raw("status.json", bytes(range(256)) * 4), "status.json"),
    RunCase("status-huge", "unreadable", _raw("status.json", b'{"x": "' + b"a" * (5 << 20) + b'"}'), "status.json"),
    RunCase("status-fifo", "unreadable", _fifo("status.json"), "status.json"),
    RunCase("status-dev-zero", "unreadable", _link("status.json", "/dev/zero"), "status.json"),
    RunCase("status-link-elsewhere", "unreadable", _link("status.json", "/etc/hostname"), "status.json"),
    RunCase("status-dangling-link", "unreadable", _link("status.json", "/nonexistent/status.json"), "status.json"),
    RunCase("status-dir", "unreadable", _dir("status.json"), "status.json"),
    RunCase("status-huge-int", "unreadable", _raw("status.json", b'{"epoch": ' + b"9" * 5000 + b"}"), "status.json"),
    RunCase("epoch-abc", "tolerated", _status({**GOOD_STATUS, "epoch": "abc", "total_epochs": [1], "progress": "x"})),
    RunCase("epoch-negative", "tolerated", _status({**GOOD_STATUS, "epoch": -5, "total_epochs": 1e300, "progress": -3})),
    RunCase(
        "nan-values",
        "tolerated",
        _raw("status.json", b'{"state": "done", "best_acc": NaN, "progress": Infinity, "latest": {"lat": -Infinity, "ener": NaN}}'),
    ),
    RunCase("pid-string", "tolerated", _status({**GOOD_STATUS, "state": "running", "pid": "1; rm -rf /", "host": ["x"]})),
    RunCase("pid-huge", "tolerated", _status({**GOOD_STATUS, "state": "running", "pid": 2**70, "host": "h"})),
    RunCase("state-number", "tolerated", _status({**GOOD_STATUS, "state": 7, "error": {"x": 1}})),
    RunCase("state-escape", "tolerated", _status({**GOOD_STATUS, "state": "done\x1b[2J\x1b]0;pwned\x07", "error": "a\nb\rc"})),
    RunCase("latest-list", "tolerated", _status({**GOOD_STATUS, "latest": [1, 2]})),
    RunCase("deploy-measured-string", "tolerated", _deploy({"target": "local", "measured": "fast"})),
    RunCase("deploy-target-number", "tolerated", _deploy({"target": 5, "measured": {"latency_s": "x", "energy_j": NAN}})),
    RunCase("deploy-list", "unreadable", _deploy([1]), "deploy/20261201-local.json"),
    RunCase("deploy-not-json", "unreadable", _deploy_raw(b"\x00\x01garbage"), "deploy/20261201-local.json"),
    RunCase(
        "deploy-fifo",
        "unreadable",
        lambda run: (_base(run), (run / "deploy").mkdir(), os.mkfifo(run / "deploy" / "x.json")),
        "deploy/x.json",
    ),
    RunCase("arch-predicted-string", "tolerated", _with("arch.json", {"predicted": "cheap"})),
    RunCase("arch-list", "unreadable", _with("arch.json", ["a"]), "arch.json"),
    RunCase("arch-link", "unreadable", _link("arch.json", "/etc/passwd"), "arch.json"),
    RunCase("train-status-list", "unreadable", _with("train/status.json", [1]), "train/status.json"),
    RunCase("train-top1-string", "tolerated", _with("train/status.json", {"state": "done", "top1": "99%", "params": "many", "macs": -1})),
    RunCase("meta-list", "unreadable", _raw("run.json", b"[1, 2]"), "run.json"),
    RunCase(
        "meta-types", "tolerated", _with("run.json", {"kind": 3, "name": {"a": 1}, "knobs": {"alpha": "x", "beta": NAN}, "created": 5})
    ),
    RunCase("meta-fifo", "unreadable", _fifo("run.json"), "run.json"),
    RunCase("meta-dev-zero", "unreadable", _link("run.json", "/dev/zero"), "run.json"),
    RunCase("meta-not-utf8", "unreadable", _raw("run.json", b"\xc3\x28"), "run.json"),
    RunCase("metrics-binary", "unreadable", _raw("metrics.jsonl", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 64), "metrics.jsonl"),
    RunCase("metrics-text-garbage", "unreadable", _raw("metrics.jsonl", b"this is not json\nnor is this\n"), "metrics.jsonl"),
    RunCase("metrics-link", "unreadable", _link("metrics.jsonl", "/etc/passwd"), "metrics.jsonl"),
    RunCase("metrics-fifo", "unreadable", _fifo("metrics.jsonl"), "metrics.jsonl"),
    RunCase("metrics-dev-zero", "unreadable", _link("metrics.jsonl", "/dev/zero"), "metrics.jsonl"),
    RunCase("metrics-torn-tail", "tolerated", lambda run: (_base(run), open(run / "metrics.jsonl", "a").write('{"kind": "epo'))),
    RunCase("id-escape-\x1b[2J\x1b]0;pwned\x07", "tolerated", _base),  # a terminal escape in the folder name
    RunCase("id-markup-[bold]-[red", "tolerated", _base),  # Rich markup in the folder name
    RunCase("name-markup", "tolerated", _with("run.json", {"name": "[/bold] a closing tag [link=x]", "kind": "[red]search"})),
    RunCase("error-markup", "tolerated", _status({**GOOD_STATUS, "state": "failed", "error": "[/] boom \x1b[31m"})),
    RunCase("dir-link", "unreadable", lambda run: (_base(run.parent / ".hidden-run"), run.symlink_to(run.parent / ".hidden-run")), "."),
]


def plant_runs_folder(root: Path) -> dict[str, RunCase]:
    """Every case as a run directory under root; returns them by directory name."""
    root.mkdir(parents=True, exist_ok=True)
    for case in RUN_CASES:
        case.plant(root / case.name)
    (root / "stray-file.txt").write_text("not a run\n", encoding="utf-8")
    (root / "no-run-json").mkdir()
    return {case.name: case for case in RUN_CASES}
