"""A full disk (a 512 KB tmpfs filled up) and a read-only folder: one line, nothing half-written,
and the same command on a healthy disk works afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
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
    fd = os.open(point / f"filler{len(list(point.glob('filler*')))}", os.O_WRONLY | os.O_CREAT, 0o600)
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
    (small_disk / "filler0").unlink()
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


@pytest.fixture()
def search_disk(tmp_path: Path):
    """Room for a demo search (its checkpoint is about 9 MB, written beside the old one)."""
    point = tmp_path / "searchdisk"
    point.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(point)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()})")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def _search(run: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "hanna_tui", "search", "--run-dir", str(run), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _checkpoint_digest(run: Path) -> str:
    return hashlib.sha256((run / "checkpoint.pt").read_bytes()).hexdigest()


def test_search_that_fills_the_disk_fails_in_one_line_and_resumes_on_a_healthy_disk(search_disk: Path) -> None:
    run = search_disk / "run"
    first = _search(run, "--demo", "--set", "search.epochs=3")
    for line in first.stderr:  # stop it once the first epoch's checkpoint is on disk
        if line.startswith("epoch 1/3: test acc"):
            first.send_signal(signal.SIGTERM)
            break
    first.communicate(timeout=300)
    assert first.returncode == 130
    saved = _checkpoint_digest(run)
    (search_disk / "spacer").write_bytes(b"\0" * 256 * 1024)  # leave 256 KB: status and logs fit, a checkpoint does not
    _fill(search_disk)
    (search_disk / "spacer").unlink()

    second = _search(run, "--resume")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 1, err
    assert "Traceback" not in err
    failure = [line for line in err.splitlines() if "search failed" in line]
    assert len(failure) == 1 and "No space left" in failure[0], err
    status = json.loads((run / "status.json").read_text(encoding="utf-8"))
    assert status["state"] == "failed" and "No space left" in status["error"]
    assert _checkpoint_digest(run) == saved  # the old checkpoint is whole
    assert not [p.name for p in run.iterdir() if p.name.startswith((".", "checkpoint.pt.")) and p.name != ".lock"]

    _fill(search_disk)  # now not a byte left: not even the config or the status can be written
    before = snapshot(run)
    full = _search(run, "--resume")
    _, err = full.communicate(timeout=300)
    lines = err.strip().splitlines()
    assert full.returncode in (1, 2) and "Traceback" not in err, err
    assert "No space left" in lines[-1], err
    after = snapshot(run)
    after.pop(".lock", None)  # the run's lock file (empty) may be made and left, as by every start
    before.pop(".lock", None)
    assert after == before
    print(err)

    for filler in search_disk.glob("filler*"):
        filler.unlink()
    third = _search(run, "--resume")
    _, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert json.loads((run / "status.json").read_text(encoding="utf-8"))["state"] == "done"


def test_export_and_batch_onto_a_full_disk_fail_in_one_line_then_work(search_disk: Path, isolated_runs_root: Path, tmp_path: Path) -> None:
    run = isolated_runs_root / "20261201-090000-good"
    plant_good_run(run)
    assert run_in_process(["sample", str(run)], {}).code == 0  # export needs the childnet's arch.json
    batch = tmp_path / "b.toml"
    batch.write_text(
        f'[batch]\nname = "full"\nruns_root = "{search_disk / "runs"}"\n\n[base]\n' + _base_section(run),
        encoding="utf-8",
    )
    _fill(search_disk)
    before = snapshot(search_disk)
    for argv in (["export", str(run), "--out", str(search_disk / "export")], ["--batch", str(batch)]):
        out = run_in_process(argv, {})
        lines = out.stderr.strip().splitlines()
        assert out.code in (1, 2) and "Traceback" not in out.stderr, (argv, out.stderr)
        assert "No space left" in lines[-1] and str(search_disk) in lines[-1], (argv, out.stderr)
        assert snapshot(search_disk) == before, argv
    for filler in search_disk.glob("filler*"):
        filler.unlink()
    again = run_in_process(["export", str(run), "--out", str(search_disk / "export")], {})
    assert again.code == 0, again.stderr
    assert any((search_disk / "export").iterdir())


def _base_section(run: Path) -> str:
    """The planted run's config as a [base] table (every section prefixed with base.)."""
    text = (run / "config.toml").read_text(encoding="utf-8")
    return "\n".join(line.replace("[", "[base.", 1) if line.startswith("[") else line for line in text.splitlines()) + "\n"
