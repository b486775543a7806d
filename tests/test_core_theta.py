"""theta in the authors' text format: parsing, writing, argmax over allowed cells, seeded draws."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanna_tui.errors import ConfigError
from hanna_tui.space import get_space
from hanna_tui.theta import argmax_choices, format_theta, parse_theta, read_theta, sample_choices, softmax_allowed, write_theta

SPACE = get_space("fbnet-cifar10")


def test_round_trip(tmp_path: Path) -> None:
    theta = [[(i * 9 + j) / 7.0 for j in range(9)] for i in range(22)]
    write_theta(tmp_path / "t.txt", theta)
    again = read_theta(tmp_path / "t.txt", SPACE)
    for row, want in zip(again, theta, strict=True):
        assert row == pytest.approx(want, rel=1e-7)
    assert len((tmp_path / "t.txt").read_text().splitlines()) == 22


def test_authors_quirks_crlf_brackets_commas_and_8_value_rows() -> None:
    rows = []
    for i, layer in enumerate(SPACE.layers):
        n = len(layer.allowed)
        rows.append("[" + ", ".join(str(float(j == i % n)) for j in range(n)) + "]  \r")
    theta = parse_theta("\n".join(rows) + "\n\n", SPACE)
    assert all(len(r) == 9 for r in theta)
    assert theta[0][8] == 0.0


def test_argmax_compares_numbers_and_skips_padding() -> None:
    theta = [[0.0] * 9 for _ in range(22)]
    theta[0][8] = 100.0  # padded cell of an 8-candidate layer
    theta[0][3] = 9.0
    theta[0][4] = 10.0  # "10" < "9" as strings
    theta[2][8] = 1.0  # skip is allowed in layer 2
    choices = argmax_choices(theta, SPACE)
    assert choices[0] == 4 and choices[2] == 8
    probs = softmax_allowed(theta, SPACE)
    assert probs[0][8] == 0.0 and sum(probs[0]) == pytest.approx(1.0)


def test_seeded_draw_repeats_and_never_picks_padding() -> None:
    theta = [[0.0] * 9 for _ in range(22)]
    a, b = sample_choices(theta, SPACE, 5), sample_choices(theta, SPACE, 5)
    assert a == b
    for seed in range(20):
        for i, c in enumerate(sample_choices(theta, SPACE, seed)):
            assert c in SPACE.layers[i].allowed


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0 0 0\n" * 22, "expected 9 values"),
        ("0 " * 9 + "\n" * 1, "expected 22 lines"),
        (("0 " * 8 + "x\n") * 22, "expected numbers"),
        (("0 " * 8 + "nan\n") * 22, "finite"),
    ],
)
def test_bad_theta_text_is_one_clear_error(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_theta(text, SPACE, "bad.txt")


def test_format_is_plain_numbers() -> None:
    line = format_theta([[1.5] * 9])
    assert line == " ".join(["1.5"] * 9) + "\n"
