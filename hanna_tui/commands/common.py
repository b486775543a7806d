"""Helpers shared by the subcommands."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from ..cost import Knobs
from ..errors import UserError


def non_negative_float(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise UserError(f"--{name}: expected a number >= 0, got {text!r}") from None
        if math.isnan(value) or math.isinf(value) or value < 0:
            raise UserError(f"--{name}: expected a finite number >= 0, got {text!r}")
        return value

    parse.__name__ = name
    return parse


def add_knob_args(parser, required: bool = False) -> None:
    defaults = Knobs()
    for name in ("alpha", "beta", "gamma", "delta"):
        parser.add_argument(
            f"--{name}",
            type=non_negative_float(name),
            required=required,
            default=None if required else getattr(defaults, name),
            help=f"knob {name} (default {getattr(defaults, name)})",
        )


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")


def fmt_num(value: float | None, unit: str = "", digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if value == 0:
        return f"0 {unit}".strip()
    text = f"{value:.{digits}g}"
    return f"{text} {unit}".strip()
