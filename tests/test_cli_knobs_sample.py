"""knobs and sample on the shipped profile, against numbers computed by hand from the reference tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from search_support import EIGHT, PROFILE, by_hand_uniform, reference_tables, run_cli

NAMES = ["k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"]


@pytest.mark.parametrize("knobs", [(0.3, 1.0, 0.7, 0.45), (0.0, 1.0, 0.2, 0.3), (4.2, 0.45, 0.2, 0.45)])
def test_knobs_json_matches_hand_computation(knobs: tuple[float, float, float, float]) -> None:
    alpha, beta, gamma, delta = knobs
    args = ["--alpha", str(alpha), "--beta", str(beta), "--gamma", str(gamma), "--delta", str(delta)]
    result = run_cli("knobs", "--profile", str(PROFILE), *args, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    lat, ener = reference_tables()
    lat0, ener0 = by_hand_uniform(lat), by_hand_uniform(ener)
    vlat = alpha * lat0**beta if alpha else 0.0
    vener = gamma * ener0**delta
    assert out["lat0"] == pytest.approx(lat0, rel=1e-12)
    assert out["ener0"] == pytest.approx(ener0, rel=1e-12)
    assert out["vlat"] == pytest.approx(vlat, rel=1e-12)
    assert out["vener"] == pytest.approx(vener, rel=1e-12)
    assert out["dominant"] == ("energy" if vener > vlat else "latency")
    if vlat:
        assert out["energy_dominance"] == pytest.approx(vener / vlat, rel=1e-12)
        assert out["latency_dominance"] == pytest.approx(vlat / vener, rel=1e-12)
    else:
        assert out["energy_dominance"] is None and out["latency_dominance"] == 0
    allowed = [row[:8] if i in EIGHT else row for i, row in enumerate(lat)]
    assert out["lat_min"] == pytest.approx(sum(map(min, allowed)), rel=1e-12)
    assert out["lat_max"] == pytest.approx(sum(map(max, allowed)), rel=1e-12)
    allowed_e = [row[:8] if i in EIGHT else row for i, row in enumerate(ener)]
    assert out["ener_min"] == pytest.approx(sum(map(min, allowed_e)), rel=1e-12)
    assert out["ener_max"] == pytest.approx(sum(map(max, allowed_e)), rel=1e-12)


def test_knobs_text_shows_units() -> None:
    result = run_cli("knobs", "--profile", str(PROFILE))
    assert result.returncode == 0 and " s " in result.stdout and " J " in result.stdout


def test_sample_theta_argmax_and_exact_lut_sums(tmp_path: Path) -> None:
    lat, ener = reference_tables()
    want = []
    lines = []
    for i in range(22):
        n = 8 if i in EIGHT else 9
        pick = (i * 5) % n
        row = [0.5] * 9
        row[pick] = 10.0
        row[(pick + 1) % n] = 9.0  # larger than "10" as a string
        if n == 8:
            row[8] = 99.0  # padded column: never a candidate
        want.append(pick)
        lines.append(" ".join(f"{v:g}" for v in row))
    theta = tmp_path / "theta.txt"
    theta.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    result = run_cli("sample", "--theta", str(theta), "--profile", str(PROFILE), "--json")
    assert result.returncode == 0, result.stderr
    arch = json.loads(result.stdout)
    assert arch["indices"] == want and arch["choices"] == [NAMES[c] for c in want]
    assert arch["predicted"]["latency_s"] == pytest.approx(sum(lat[i][c] for i, c in enumerate(want)), rel=1e-12)
    assert arch["predicted"]["energy_j"] == pytest.approx(sum(ener[i][c] for i, c in enumerate(want)), rel=1e-12)
    assert arch["units"] == {"latency": "s", "energy": "J"}


def test_sample_stochastic_is_seeded(tmp_path: Path) -> None:
    theta = tmp_path / "theta.txt"
    theta.write_text(("0 " * 9 + "\n") * 22, encoding="utf-8")
    args = ["sample", "--theta", str(theta), "--profile", str(PROFILE), "--stochastic", "--seed", "7", "--json"]
    a, b = run_cli(*args), run_cli(*args)
    assert a.returncode == 0 and json.loads(a.stdout)["choices"] == json.loads(b.stdout)["choices"]
    assert all(c != 8 for i, c in enumerate(json.loads(a.stdout)["indices"]) if i in EIGHT)


def test_knobs_negative_exponent_warns_and_negative_weight_is_refused() -> None:
    ok = run_cli("knobs", "--profile", str(PROFILE), "--beta", "-0.2", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["beta"] == -0.2
    assert "warning: beta = -0.2 < 0" in ok.stderr and "slower" in ok.stderr
    bad = run_cli("knobs", "--profile", str(PROFILE), "--alpha", "-1")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == ["hanna-tui: --alpha: expected a finite number >= 0, got -1.0"]


def test_knobs_default_profile_resolves_from_another_directory(tmp_path: Path) -> None:
    import subprocess
    import sys

    from search_support import cli_env

    env = {**cli_env(), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("HANNA_PROFILES", None)
    result = subprocess.run(
        [sys.executable, "-m", "hanna_tui", "knobs"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "rpi3b-hanna.toml" in result.stdout and "verdict  energy-dominant" in result.stdout
