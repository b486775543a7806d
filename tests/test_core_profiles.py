"""Device profiles: the shipped one loads unchanged; every broken field is one clear error."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
from search_support import PROFILE, REFERENCE, read_table

from hanna_tui.errors import ConfigError
from hanna_tui.profiles import check_profile_matches, load_profile, profile_from_dict
from hanna_tui.tomlio import dumps_toml, load_toml, loads_toml


@pytest.fixture(scope="module")
def raw() -> dict:
    return load_toml(PROFILE)


def test_shipped_profile_loads_with_units_and_hash() -> None:
    profile = load_profile(PROFILE)
    assert profile.space_name == "fbnet-cifar10"
    assert profile.latency.unit == "s" and profile.energy is not None and profile.energy.unit == "J"
    assert "power" in " ".join(profile.extra) or profile.extra
    assert len(profile.content_hash) == 64
    assert "hpnair/18663_Project_FBNet" in str(profile.provenance) or "hpnair" in PROFILE.read_text()


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference/hanna-rpi3b not beside the checkout")
def test_shipped_values_are_the_reference_tables_unchanged() -> None:
    profile = load_profile(PROFILE)
    assert profile.latency.table == read_table(REFERENCE / "rpi_speed.txt")
    assert profile.energy is not None and profile.energy.table == read_table(REFERENCE / "new_rpi_energy.txt")


def _broken(raw: dict, edit) -> dict:
    data = copy.deepcopy(raw)
    edit(data)
    return data


CASES = {
    "short table": (lambda d: d["latency"]["table"].pop(), "latency.table", "22 rows"),
    "short row": (lambda d: d["energy"]["table"][3].pop(), "energy.table[3]", "9 columns"),
    "nan": (lambda d: d["latency"]["table"][0].__setitem__(2, math.nan), "latency.table[0][2]", "finite"),
    "negative": (lambda d: d["energy"]["table"][5].__setitem__(1, -1.0), "energy.table[5][1]", ">= 0"),
    "string": (lambda d: d["latency"]["table"][1].__setitem__(0, "fast"), "latency.table[1][0]", "a number"),
    "unknown space": (lambda d: d["space"].__setitem__("name", "resnet"), "space.name", "fbnet-cifar10"),
    "missing unit": (lambda d: d["latency"].pop("unit"), "latency.unit", "missing unit"),
    "bad unit": (lambda d: d["energy"].__setitem__("unit", "kWh"), "energy.unit", "unknown unit"),
    "no latency": (lambda d: d.pop("latency"), "latency", "missing section"),
    "bad format": (lambda d: d.__setitem__("format", "v0"), "format", "hanna-profile/1"),
    "bad input shape": (lambda d: d["space"].__setitem__("input_shape", [1, 3, 64, 64]), "space.input_shape", "32"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_profile_names_file_field_and_expectation(raw: dict, case: str) -> None:
    edit, field, expected = CASES[case]
    with pytest.raises(ConfigError) as info:
        profile_from_dict(_broken(raw, edit), "broken.toml")
    message = str(info.value)
    assert message.startswith("broken.toml: ") and field in message and expected in message
    assert "\n" not in message


def test_profile_for_another_space_is_refused() -> None:
    profile = load_profile(PROFILE)
    with pytest.raises(ConfigError, match="fbnet-imagenet"):
        check_profile_matches(profile, "fbnet-imagenet")


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_profile(tmp_path / "none.toml")


def test_toml_writer_round_trips_and_keeps_one_blank_line(raw: dict) -> None:
    text = dumps_toml(raw)
    assert loads_toml(text) == raw
    assert "\n\n\n" not in text
