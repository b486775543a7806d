"""The package installs anywhere: a wheel with the shipped profiles and no test fixtures, run from /."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from search_support import REPO_ROOT

from hanna_tui.errors import ConfigError
from hanna_tui.profiles import load_profile, resolve_profile, shipped_profiles_dir

SOURCES = ("pyproject.toml", "README.md", "hanna_tui", "profiles")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel --no-deps .` of a copy of the sources (no network: the venv's setuptools builds it)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, src / name)
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), "."]
    result = subprocess.run(cmd, cwd=src, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("hanna_tui-*.whl")
    return path


def test_wheel_holds_the_shipped_profiles_and_no_test_fixtures(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.name for p in (REPO_ROOT / "profiles").glob("*.toml"))
    assert shipped and sorted(Path(n).name for n in names if n.startswith("hanna_tui/shipped_profiles/")) == shipped
    assert not [n for n in names if "fixture" in n or n.startswith("tests/") or "/tests/" in n or "placeholder" in n]


def test_wheel_in_a_fresh_virtualenv_runs_knobs_from_root(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)]
    result = subprocess.run(install, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # the project's dependencies (torch, textual, ...) from this environment; hanna_tui itself only from the wheel
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "OMP_NUM_THREADS": "1",
    }
    where = subprocess.run(
        [str(python), "-c", "import hanna_tui; print(hanna_tui.__file__)"], cwd="/", env=env, capture_output=True, text=True
    )
    assert where.returncode == 0 and where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    knobs = ["knobs", "--alpha", "0.5", "--beta", "1.5", "--gamma", "0.5", "--delta", "0.5", "--json"]
    result = subprocess.run([str(venv / "bin" / "hanna-tui"), *knobs], cwd="/", env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["profile"].startswith(str(venv)) and out["profile"].endswith("rpi3b-hanna.toml")
    assert out["vlat"] == pytest.approx(0.5 * out["lat0"] ** 1.5)


def test_profile_names_resolve_in_the_documented_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = shipped_profiles_dir() / "rpi3b-hanna.toml"
    assert shipped.is_file()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("HANNA_PROFILES", raising=False)
    for ref in ("profiles/rpi3b-hanna.toml", "rpi3b-hanna.toml", "rpi3b-hanna"):
        assert resolve_profile(ref) == shipped  # the default path works from any directory
    assert load_profile("profiles/rpi3b-hanna.toml").device_name == "rpi3b"
    local = tmp_path / "profiles"
    local.mkdir()
    shutil.copy(shipped, local / "rpi3b-hanna.toml")
    assert resolve_profile("rpi3b-hanna") == Path("profiles/rpi3b-hanna.toml")  # ./profiles before the shipped ones
    user = tmp_path / "config" / "hanna-tui" / "profiles"
    user.mkdir(parents=True)
    shutil.copy(shipped, user / "rpi3b-hanna.toml")
    assert resolve_profile("rpi3b-hanna") == user / "rpi3b-hanna.toml"  # the user's folder before ./profiles
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    shutil.copy(shipped, env_dir / "rpi3b-hanna.toml")
    monkeypatch.setenv("HANNA_PROFILES", str(env_dir))
    assert resolve_profile("rpi3b-hanna") == env_dir / "rpi3b-hanna.toml"  # $HANNA_PROFILES first
    with pytest.raises(ConfigError, match=r"nope: profile file not found \(looked for nope.toml in .*shipped_profiles"):
        resolve_profile("nope")
    assert resolve_profile("elsewhere/x.toml") == Path("elsewhere/x.toml")  # a path is never looked up by name
