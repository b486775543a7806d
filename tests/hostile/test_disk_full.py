"""A full disk (a 512 KB tmpfs filled up) and a read-only folder: one line, nothing half-written,
and the same command on a healthy disk works afterwards."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hostile_support import plant_good_run, run_in_process, snapshot


def _mount(point: Path, *options: str) -> None:
    point.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(("size=512k", *options)), "tmpfs", str(point)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()})")


@pytest.fixture()
def small_disk(tmp_path: Path):
    point = tmp_path / "disk"
    _mount(point)
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(point: Path) -> None:
    fd = os.open(point / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def test_sample_onto_a_full_disk_fails_in_one_line_then_works(small_disk: Path, isolated_runs_root: Path) -> None:
    run = isolated_runs_root / "20261201-090000-good"
    plant_good_run(run)
    (small_disk / "old.json").write_text('{"keep": true}\n', encoding="utf-8")
    _fill(small_disk)
    before = snapshot(small_disk)
    out = run_in_process(["sample", str(run), "--out", str(small_disk / "old.json")], {})
    assert out.code == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "failed:" in lines[0] and "No space left" in lines[0], out.stderr
    assert snapshot(small_disk) == before  # the old file whole, no temp file left behind
    (small_disk / "filler").unlink()
    again = run_in_process(["sample", str(run), "--out", str(small_disk / "old.json")], {})
    assert again.code == 0, again.stderr
    assert '"choices"' in (small_disk / "old.json").read_text(encoding="utf-8")


def test_read_only_folder(tmp_path: Path, isolated_runs_root: Path) -> None:
    point = tmp_path / "ro"
    _mount(point, "ro")
    try:
        run = isolated_runs_root / "20261201-090000-good"
        plant_good_run(run)
        for argv in (
            ["sample", str(run), "--out", str(point / "a.json")],
            ["profile", "--target", "local", "--out", str(point / "p.toml")],
            ["baseline", "mobilenetv2", "--runs", str(point), "--epochs", "1", "--data", "synthetic"],
        ):
            out = run_in_process(argv, {})
            lines = out.stderr.strip().splitlines()
            assert out.code == 2 and len(lines) == 1 and "Traceback" not in out.stderr, (argv, out.stderr)
            assert str(point) in lines[0], lines
        assert not os.listdir(point)
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)
