"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import UserError
from ..knobs import FORMS, KNOB_NAMES, KnobError, Knobs, check_knob


def knob_value(name: str):
    """argparse type of one knob: the knobs module's validator, as a one-line --NAME error."""

    def parse(text: str) -> float:
        try:
            value: object = float(text)
        except ValueError:
            value = text  # check_knob says what was expected
        try:
            return check_knob(name, value)
        except KnobError as exc:
            raise UserError(f"--{name}: {exc.expected}") from None

    parse.__name__ = name
    return parse


def add_knob_args(parser, required: bool = False, form: bool = False) -> None:
    defaults = Knobs()
    for name in KNOB_NAMES:
        parser.add_argument(
            f"--{name}",
            type=knob_value(name),
            required=required,
            default=None if required else getattr(defaults, name),
            help=f"knob {name} (default {getattr(defaults, name)})",
        )
    if form:
        parser.add_argument("--form", choices=FORMS, default=defaults.form, help=f"loss form (default {defaults.form})")


def knobs_from_args(args) -> Knobs:
    try:
        return Knobs(args.alpha, args.beta, args.gamma, args.delta, getattr(args, "form", "additive"))
    except KnobError as exc:
        raise UserError(f"--{exc.field}: {exc.expected}") from None


def print_json(obj: Any) -> None:
    from ..fsutil import json_safe

    sys.stdout.write(json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")  # inf/nan as null


def add_command(sub, name: str, summary: str, doc: str | None) -> argparse.ArgumentParser:
    """A subcommand whose --help shows its module docstring as written (usage lines, exit codes)."""
    return sub.add_parser(name, help=summary, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
