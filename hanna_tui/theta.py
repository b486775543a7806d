"""Architecture parameters theta as text (the authors' format: 22 lines of 9 values) and sampling."""

from __future__ import annotations

import math
import os
import random

from .errors import ConfigError
from .fsutil import atomic_write_text
from .space import CANDIDATE_NAMES, SearchSpace

Theta = list[list[float]]


def format_theta(theta: Theta) -> str:
    return "".join(" ".join(f"{v:.8g}" for v in row) + "\n" for row in theta)


def write_theta(path: str | os.PathLike, theta: Theta) -> None:
    atomic_write_text(path, format_theta(theta))


def parse_theta(text: str, space: SearchSpace, source: str = "<theta>") -> Theta:
    """One line per layer, whitespace- or comma-separated; brackets are ignored.

    8-candidate layers may give 8 values (the padded 9th is then 0) or 9 (the 9th is ignored).
    """
    lines = [ln for ln in text.replace("\r", "").split("\n") if ln.strip(" \t[],")]
    if len(lines) != space.num_layers:
        raise ConfigError(source, None, f"expected {space.num_layers} lines of theta (one per layer), got {len(lines)}")
    width = space.num_candidates
    theta: Theta = []
    for i, line in enumerate(lines):
        tokens = line.replace(",", " ").replace("[", " ").replace("]", " ").split()
        n_allowed = len(space.layers[i].allowed)
        if len(tokens) not in (width, n_allowed):
            raise ConfigError(source, f"line {i + 1}", f"expected {width} values (or {n_allowed}), got {len(tokens)}")
        try:
            row = [float(t) for t in tokens]
        except ValueError as exc:
            raise ConfigError(source, f"line {i + 1}", f"expected numbers ({exc})") from None
        if any(math.isnan(v) or math.isinf(v) for v in row):
            raise ConfigError(source, f"line {i + 1}", "expected finite numbers")
        row += [0.0] * (width - len(row))
        theta.append(row)
    return theta


def read_theta(path: str | os.PathLike, space: SearchSpace) -> Theta:
    from .fsutil import Unreadable, read_text

    try:
        text = read_text(path, 1 << 20)  # a regular file of at most 1 MB (never a FIFO or a device)
    except FileNotFoundError:
        raise ConfigError(str(path), None, "theta file not found (expected 22 lines of 9 numbers)") from None
    except Unreadable as exc:
        raise ConfigError(str(path), None, f"{exc.reason} (expected 22 lines of 9 numbers)") from None
    return parse_theta(text, space, str(path))


def softmax_allowed(theta: Theta, space: SearchSpace, temperature: float = 1.0) -> list[list[float]]:
    """Per-layer softmax over the allowed candidates; padded cells get probability 0."""
    probs = []
    for row, layer in zip(theta, space.layers, strict=True):
        peak = max(row[j] for j in layer.allowed)
        exps = {j: math.exp((row[j] - peak) / temperature) for j in layer.allowed}
        total = sum(exps.values())
        probs.append([exps[j] / total if j in exps else 0.0 for j in range(len(row))])
    return probs


def argmax_choices(theta: Theta, space: SearchSpace) -> list[int]:
    """Index of the largest theta among the allowed candidates of each layer (first on ties)."""
    choices = []
    for row, layer in zip(theta, space.layers, strict=True):
        best = layer.allowed[0]
        for j in layer.allowed:
            if row[j] > row[best]:
                best = j
        choices.append(best)
    return choices


def sample_choices(theta: Theta, space: SearchSpace, seed: int) -> list[int]:
    """A seeded draw from softmax(theta) per layer."""
    rng = random.Random(seed)
    probs = softmax_allowed(theta, space)
    choices = []
    for p, layer in zip(probs, space.layers, strict=True):
        allowed = list(layer.allowed)
        choices.append(rng.choices(allowed, weights=[p[j] for j in allowed])[0])
    return choices


def choices_to_names(choices: list[int]) -> list[str]:
    return [CANDIDATE_NAMES[c] for c in choices]
