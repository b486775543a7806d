"""Every bad input gets one clear line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from search_support import PROFILE, run_cli, tiny_config


def assert_one_line_error(result, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    err = result.stderr.strip()
    assert err and "\n" not in err, err
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in err, err


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def other_space_profile(tmp_path: Path) -> Path:
    text = PROFILE.read_text().replace('name = "fbnet-cifar10"', 'name = "fbnet-imagenet"').replace("[1, 3, 32, 32]", "[1, 3, 224, 224]")
    return write(tmp_path / "imagenet.toml", text)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return tiny_config(tmp_path, epochs=1)


def with_line(good: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = good.read_text()
    assert old in text
    return write(tmp_path / "bad.toml", text.replace(old, new))


def test_unknown_config_key(good: Path, tmp_path: Path) -> None:
    bad = with_line(good, tmp_path, "batch_size = 32", "batch_size = 32\nbatchsize = 3")
    assert_one_line_error(run_cli("search", "--config", str(bad)), "bad.toml", "search.batchsize", "unknown key")


def test_unknown_section(good: Path, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", good.read_text() + "\n[serach]\nepochs = 3\n")
    assert_one_line_error(run_cli("search", "--config", str(bad)), "serach", "unknown section")


def test_wrong_type(good: Path, tmp_path: Path) -> None:
    bad = with_line(good, tmp_path, "epochs = 1", 'epochs = "three"')
    assert_one_line_error(run_cli("search", "--config", str(bad)), "search.epochs", "expected an integer")


def test_bad_value(good: Path, tmp_path: Path) -> None:
    bad = with_line(good, tmp_path, 'mode = "sampled"', 'mode = "random"')
    assert_one_line_error(run_cli("search", "--config", str(bad)), "search.mode", "mixture, sampled")


def test_not_toml(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", "[run\nname = 1\n")
    assert_one_line_error(run_cli("search", "--config", str(bad)), "bad.toml", "not valid TOML")


def test_missing_config_file(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("search", "--config", str(tmp_path / "none.toml")), "none.toml", "not found")


def test_missing_profile(good: Path, tmp_path: Path) -> None:
    bad = with_line(good, tmp_path, str(PROFILE), str(tmp_path / "gone.toml"))
    assert_one_line_error(run_cli("search", "--config", str(bad)), "gone.toml", "not found")


def test_profile_for_another_space(good: Path, tmp_path: Path) -> None:
    bad = with_line(good, tmp_path, str(PROFILE), str(other_space_profile(tmp_path)))
    assert_one_line_error(run_cli("search", "--config", str(bad)), "imagenet.toml", "space.name", "fbnet-cifar10")


def test_broken_profile(good: Path, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.toml", PROFILE.read_text().replace('unit = "s"', 'unit = "fortnights"', 1))
    bad = with_line(good, tmp_path, str(PROFILE), str(broken))
    assert_one_line_error(run_cli("search", "--config", str(bad)), "broken.toml", "latency.unit")


@pytest.mark.parametrize(
    "args, needles",
    [
        (["search", "--bogus"], ["unrecognized arguments", "--bogus"]),
        (["search"], ["--config"]),
        (["search", "--demo", "--set", "epochs"], ["--set epochs", "SECTION.KEY=VALUE"]),
        (["search", "--demo", "--set", "search.epochs=abc"], ["search.epochs", "expected an integer"]),
        (["search", "--demo", "--set", "search.nope=1"], ["search.nope", "unknown key"]),
        (["search", "--demo", "--set", "run.device=tpu"], ["run.device"]),
        (["search", "--demo", "--resume"], ["--resume needs --run-dir"]),
        (["knobs", "--alpha", "-1"], ["--alpha", ">= 0"]),
        (["knobs", "--beta", "x"], ["--beta"]),
        (["sample"], ["RUN_DIR or --theta"]),
        (["sample", "--theta", "t.txt"], ["--profile"]),
        (["nosuchcommand"], ["invalid choice"]),
    ],
)
def test_bad_flags(args: list[str], needles: list[str]) -> None:
    assert_one_line_error(run_cli(*args), *needles)


def test_resume_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("search", "--demo", "--run-dir", str(tmp_path / "x"), "--resume"), "not a run directory")


def test_missing_dataset_says_how_to_get_it(good: Path, tmp_path: Path, isolated_runs_root: Path) -> None:
    bad = with_line(good, tmp_path, 'name = "synthetic"', f'name = "cifar10"\nroot = "{tmp_path / "nodata"}"')
    result = run_cli("search", "--config", str(bad))
    assert_one_line_error(result, "CIFAR-10 not found", "download")
    assert not isolated_runs_root.exists() or not any(isolated_runs_root.iterdir())  # nothing half-made


@pytest.mark.parametrize(
    "text, needle",
    [("1 2 3\n", "expected 22 lines"), (("0 " * 9 + "\n") * 21 + "a b c d e f g h i\n", "line 22")],
)
def test_bad_theta_file(tmp_path: Path, text: str, needle: str) -> None:
    theta = write(tmp_path / "theta.txt", text)
    assert_one_line_error(run_cli("sample", "--theta", str(theta), "--profile", str(PROFILE)), "theta.txt", needle)


def test_missing_theta_file(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("sample", "--theta", str(tmp_path / "no.txt"), "--profile", str(PROFILE)), "no.txt", "not found")


def test_sample_with_profile_of_another_space(tmp_path: Path) -> None:
    theta = write(tmp_path / "theta.txt", ("0 " * 9 + "\n") * 22)
    result = run_cli("sample", "--theta", str(theta), "--profile", str(other_space_profile(tmp_path)), "--space", "fbnet-cifar10")
    assert_one_line_error(result, "space.name")
