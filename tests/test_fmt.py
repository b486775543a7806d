"""The one number formatter: accuracy in %, latency and energy auto-scaled with 4 significant digits."""

from __future__ import annotations

import math

import pytest

from hanna_tui import fmt


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3.8531, "3.853 s"), (0.012345, "12.35 ms"), (0.00045012, "450.1 us"), (2e-9, "0.002 us"), (0.0, "0 s"), (None, "-")],
)
def test_latency_scales_to_a_unit_with_an_integer_part(seconds: float | None, text: str) -> None:
    assert fmt.latency(seconds) == text


def test_energy_and_digits() -> None:
    assert fmt.energy(18.7) == "18.7 J" and fmt.energy(0.0421) == "42.1 mJ" and fmt.energy(3.2e-6) == "3.2 uJ"
    assert fmt.latency(0.0123456, digits=3) == "12.3 ms"
    assert fmt.energy(math.inf) == "inf"


def test_accuracy_is_a_fraction_shown_in_percent() -> None:
    assert fmt.pct(0.994) == "99.4%" and fmt.pct(1.0) == "100.0%" and fmt.pct(0.0) == "0.0%"
    assert fmt.pct(None) == "-" and fmt.pct(math.nan) == "-"


def test_counts_dominance_and_missing() -> None:
    assert fmt.count(2_300_000) == "2.3M" and fmt.count(61_000) == "61k" and fmt.count(12) == "12"
    assert fmt.dominance(2.5803) == "2.58"
    assert fmt.num(None) == "-" and fmt.num(0.44931, digits=3) == "0.449"


def test_printable_escapes_terminal_controls_and_keeps_the_rest() -> None:
    assert fmt.printable("20261201-run-é") == "20261201-run-é"
    assert fmt.printable("a\x1b[2Jb\x07\n") == "a\\x1b[2Jb\\x07\\n"


def test_an_undefined_dominance_ratio_is_not_infinite() -> None:
    """alpha = gamma = 0 (a budget-only search): vENER/vLAT is 0/0, undefined (knobs.ratio gives None),
    never "inf"; x/0 (only the other term) is infinite."""
    from hanna_tui.knobs import Knobs, dominance, ratio

    assert ratio(0.0, 0.0) is None and ratio(1.0, 0.0) == math.inf
    assert fmt.dominance(None) == "-" and fmt.dominance(math.nan) == "-"
    assert fmt.dominance(math.inf) == "inf"
    d = dominance(3.8, 18.7, Knobs(alpha=0.0, gamma=0.0))
    assert d.dominant == "none" and fmt.dominance(d.energy_dominance) == "-" and fmt.dominance(d.latency_dominance) == "-"
