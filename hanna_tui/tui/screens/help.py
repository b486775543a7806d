"""The `?` overlay: the keys of the screen it was opened on, then the keys of every screen."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

CLOSE_HINT = "escape, ? or q: close"


def key_names(screen: Screen, binding: Binding) -> str:
    """The keys of a binding as the footer names them; several keys ("l,ctrl+s") read "l or ctrl+s"
    (a chord spelt out, as in the list of keys that work everywhere)."""
    keys = [k.strip() for k in binding.key.split(",") if k.strip()]
    if binding.key_display or len(keys) < 2:
        return screen.app.get_key_display(binding)
    return " or ".join(k if "+" in k else screen.app.get_key_display(Binding(k, binding.action)) for k in keys)


def screen_keys(screen: Screen) -> list[tuple[str, str]]:
    """(key, what it does) of a screen's own bindings: the longer tooltip where the footer's word is short."""
    out = []
    for binding in screen.BINDINGS:
        if isinstance(binding, Binding) and binding.description:
            out.append((key_names(screen, binding), binding.tooltip or binding.description))
    return out


def screen_name(screen: Screen) -> str:
    """A screen's name for people: its HELP_NAME ("Profile a target"), else its class name less "Screen"."""
    return getattr(screen, "HELP_NAME", "") or type(screen).__name__.removesuffix("Screen") or "Screen"


def keys_table(title: str, rows: list[tuple[str, str]]) -> Group:
    """A bold title line (never wrapped inside a narrow table) over the keys and what they do."""
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, description in rows:
        table.add_row(key, description)
    return Group(Text(title, style="bold underline"), table)


APP_KEYS = [
    ("1 .. 5 / F1 .. F5", "Knobs, Runs, History, Profiles, Deploy"),
    ("j", "jobs list; enter stops one"),
    ("ctrl+p", "command palette: every action by name"),
    ("tab / shift+tab", "enter the next / previous field or list"),
    ("escape", "leave a field (single-letter keys act on the screen again)"),
    ("ctrl+t", "light / dark theme"),
    ("?", "this help"),
    ("ctrl+q", "quit (running jobs go on)"),
]


class HelpScreen(ModalScreen[None]):
    """Keys of the current screen and of the whole dashboard; any of escape, ? or q closes it (said in
    the frame's top edge, so a help taller than the terminal still says how to leave)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss(None)", "Close")]

    def __init__(self, shown: Screen) -> None:
        super().__init__()
        self.shown = shown

    def compose(self) -> ComposeResult:
        name = screen_name(self.shown)
        with VerticalScroll(classes="dialog", id="help") as frame:
            frame.border_title = CLOSE_HINT
            yield Static(keys_table(f"{name} keys", screen_keys(self.shown) or [("-", "no keys of its own")]), id="help-screen-keys")
            yield Static(keys_table("Everywhere", APP_KEYS), id="help-app-keys")
            yield Static(CLOSE_HINT, classes="hint")
