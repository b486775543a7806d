"""Small shared widgets: knob inputs with step keys, validators, preset dialogs."""

from __future__ import annotations

import math
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Function, ValidationResult, Validator
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option


def parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class RangeNumber(Validator):
    """A finite number in [low, high]; the failure says what was expected."""

    def __init__(self, low: float, high: float, integer: bool = False) -> None:
        super().__init__()
        self.low, self.high, self.integer = low, high, integer

    def validate(self, value: str) -> ValidationResult:
        what = "an integer" if self.integer else "a number"
        expected = f"expected {what} in {self.low:g}..{self.high:g}"
        if self.integer:
            ok = value.strip().lstrip("-").isdigit() and self.low <= int(value) <= self.high
        else:
            number = parse_float(value)
            ok = number is not None and self.low <= number <= self.high
        return self.success() if ok else self.failure(f"{expected}, got {value!r}" if value else f"{expected}, got nothing")


class KnobInput(Input):
    """A number input; up/down step it finely, shift+up/down and page up/down coarsely."""

    BINDINGS = [
        Binding("up", "step(1)", "+fine", show=False),
        Binding("down", "step(-1)", "-fine", show=False),
        Binding("shift+up,pageup", "step(10)", "+coarse", show=False),
        Binding("shift+down,pagedown", "step(-10)", "-coarse", show=False),
    ]

    def __init__(self, value: str, *, fine: float = 0.01, low: float = 0.0, high: float = 1000.0, integer: bool = False, **kwargs) -> None:
        super().__init__(value, validators=[RangeNumber(low, high, integer)], validate_on=["changed", "submitted"], compact=True, **kwargs)
        self.fine, self.low, self.high, self.integer = fine, low, high, integer

    def action_step(self, multiple: int) -> None:
        current = parse_float(self.value)
        if current is None:
            current = self.low
        new = min(self.high, max(self.low, current + multiple * self.fine))
        self.value = str(int(round(new))) if self.integer else f"{round(new, 6):g}"
        self.cursor_position = len(self.value)


class NameDialog(ModalScreen[str | None]):
    """Ask for a preset name."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self.title_text, self.initial = title, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield Input(
                self.initial, placeholder="preset name", id="dialog-input", validators=[Function(lambda v: bool(v.strip()), "a name")]
            )
            yield Label("enter: save   escape: cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())


class PickDialog(ModalScreen[Path | None]):
    """Pick one file from a list (presets)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, paths: list[Path], empty: str) -> None:
        super().__init__()
        self.title_text, self.paths, self.empty = title, paths, empty

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            if self.paths:
                yield OptionList(*[Option(p.stem, id=str(i)) for i, p in enumerate(self.paths)], id="dialog-list")
            else:
                yield Label(self.empty, classes="empty-state")
            yield Label("enter: load   escape: cancel", classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.paths[int(event.option.id or 0)])
