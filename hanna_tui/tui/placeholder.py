"""A screen that explains why a feature is not there (e.g. the deploy screen not yet installed)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static


class PlaceholderScreen(Screen):
    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.title_text}[/b]", classes="screen-title")
        yield Static(self.message, classes="empty-state")
        yield Footer()
