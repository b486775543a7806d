"""The `?` overlay: the keys of the screen it was opened on, then the keys of every screen."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def screen_keys(screen: Screen) -> list[tuple[str, str]]:
    """(key, description) of a screen's own bindings, as the footer would name the keys."""
    out = []
    for binding in screen.BINDINGS:
        if isinstance(binding, Binding) and binding.description:
            out.append((screen.app.get_key_display(binding), binding.description))
    return out


def keys_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, description in rows:
        table.add_row(key, description)
    return table


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
    """Keys of the current screen and of the whole dashboard; any of escape, ? or q closes it."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss(None)", "Close")]

    def __init__(self, shown: Screen) -> None:
        super().__init__()
        self.shown = shown

    def compose(self) -> ComposeResult:
        name = type(self.shown).__name__.removesuffix("Screen") or "Screen"
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(keys_table(f"{name} keys", screen_keys(self.shown) or [("-", "no keys of its own")]), id="help-screen-keys")
            yield Static(keys_table("Everywhere", APP_KEYS), id="help-app-keys")
            yield Static("escape, ? or q: close", classes="hint")
