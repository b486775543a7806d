"""The hardened reader, the JSON-lines follower, downsampling and the TOML writer, file by file."""

from __future__ import annotations

import json
import os
import random
import stat
from pathlib import Path

import pytest

from hanna_tui.errors import ConfigError
from hanna_tui.fsutil import (
    FILE_MODE,
    Unreadable,
    append_jsonl,
    atomic_write_json,
    iter_jsonl,
    load_json,
    read_bytes,
    read_increment,
    read_json,
)
from hanna_tui.series import downsample, stride_indices, thin_records
from hanna_tui.store import Run
from hanna_tui.tomlio import dumps_toml, load_toml, loads_toml


def test_fifo_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "status.json"
    os.mkfifo(fifo)  # no writer: a plain open() would block for good
    with pytest.raises(Unreadable, match="FIFO"):
        read_bytes(fifo)
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(Unreadable, match="symbolic link"):
        read_bytes(link)
    with pytest.raises(Unreadable, match="character device"):
        read_bytes("/dev/zero")


def test_size_limit_and_missing_file(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"1" * 2000)
    with pytest.raises(Unreadable, match="too large"):
        read_bytes(big, limit=1000)
    assert load_json(tmp_path / "none.json") is None
    assert read_json(tmp_path / "none.json", {}) == {}


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b"\xff{}", "not UTF-8"),
        (b'{"a": ', "not valid JSON"),
        (b"1" * 5000, "not usable JSON"),
    ],
)
def test_json_errors_are_unreadable(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(data)
    with pytest.raises(Unreadable, match=reason):
        load_json(path)
    assert read_json(path, {}) == {}


def test_lenient_read_keeps_the_default_type(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert read_json(path, {}) == {}  # a status.json holding a list reads as no status
    assert read_json(path) == [1, 2]


def test_symlinked_metrics_is_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me\n", encoding="utf-8")
    run = Run(tmp_path / "run")
    run.path.mkdir()
    run.metrics_path.symlink_to(target)
    with pytest.raises(Unreadable, match="symbolic link"):
        run.log_metrics({"kind": "epoch", "epoch": 1})
    assert target.read_text(encoding="utf-8") == "keep me\n"
    assert list(iter_jsonl(run.metrics_path)) == []


def test_one_permission_policy_for_every_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "status.json", {"state": "done"})
        append_jsonl(tmp_path / "metrics.jsonl", {"kind": "epoch"})
    finally:
        os.umask(old)
    for name in ("status.json", "metrics.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == FILE_MODE, name


def _history(path: Path, epochs: int, per_epoch: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        step = 0
        for epoch in range(1, epochs + 1):
            for _ in range(per_epoch):
                step += 1
                out.write(json.dumps({"kind": "interval", "step": step, "loss": 1.0, "pad": "x" * 200}, separators=(",", ":")) + "\n")
            out.write(json.dumps({"kind": "epoch", "epoch": epoch, "acc": epoch / epochs}, separators=(",", ":")) + "\n")


def test_first_read_of_a_large_history_is_bounded_and_keeps_every_epoch(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    _history(path, epochs=50, per_epoch=400)  # about 5 MB
    step = read_increment(path, 0, 0, first_limit=256 << 10)
    assert step is not None and step.skipped > 0
    epochs = [r["epoch"] for r in step.records if r["kind"] == "epoch"]
    assert epochs == list(range(1, 51))  # every epoch, also those in the part not parsed in full
    intervals = [r for r in step.records if r["kind"] == "interval"]
    assert 0 < len(intervals) < 2000  # only the tail's intervals
    assert step.offset == path.stat().st_size
    with open(path, "a", encoding="utf-8") as out:
        out.write('{"kind":"epoch","epoch":51}\n{"kind":"epo')
    more = read_increment(path, step.offset, step.inode)
    assert more is not None and [r["epoch"] for r in more.records] == [51] and not more.reset


def test_follower_starts_over_when_the_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    _history(path, 2, 3)
    first = read_increment(path, 0, 0)
    path.unlink()
    _history(path, 1, 1)
    again = read_increment(path, first.offset, first.inode)
    assert again.reset and len(again.records) == 2


def test_downsampling_keeps_ends_and_bounds_points() -> None:
    xs = list(range(100_000))
    dx, dy = downsample(xs, [x * 2 for x in xs], 500)
    assert len(dx) <= 500 and dx[0] == 0 and dx[-1] == 99_999 and dy == [x * 2 for x in dx]
    assert stride_indices(3, 10) == [0, 1, 2]
    records = [{"kind": "interval", "step": i} for i in range(10_000)] + [{"kind": "epoch", "epoch": 1}]
    thin = thin_records(records, 100)
    assert sum(r["kind"] == "interval" for r in thin) <= 100 and thin[-1] == {"kind": "epoch", "epoch": 1}


def test_toml_writer_round_trips_any_string() -> None:
    rng = random.Random(7)
    pools = [(0, 0x80), (0x80, 0xD7FF), (0xE000, 0x10FFFF)]
    samples = ["", "a\rb", "\x00\x01\x1f\x7f", 'q"\\', "\\u0041", "'''", '"""', "\n\t\b\f", "ünï 😀 \u2028"]
    for _ in range(500):
        samples.append("".join(chr(rng.randrange(*rng.choice(pools))) for _ in range(rng.randrange(0, 16))))
    for text in samples:
        doc = {"s": text, "list": [text, text], "table": {text or "k": text}, text or "t": {"n": 1}}
        assert loads_toml(dumps_toml(doc)) == doc, repr(text)


@pytest.mark.parametrize("data", [b"\x7fELF\x02\x01\x01\x00\xff\xfe", b'name = "\xff"\n'])
def test_non_utf8_toml_is_one_config_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_toml(path)


def test_toml_from_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "c.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="FIFO"):
        load_toml(fifo)
