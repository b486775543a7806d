"""What every dashboard screen shares: the typed app accessor, the run-change messages, following screens."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable

if TYPE_CHECKING:
    from ..app import HannaApp


class RunsPolled(Message):
    """The app re-read the run index; changed says whether any run summary differs."""

    bubble = False

    def __init__(self, changed: bool) -> None:
        super().__init__()
        self.changed = changed


class HannaScreen(Screen):
    """A screen of the dashboard: reaches the app's state through `hanna_app`, never `self.app.<attr>`."""

    ready = False

    @property
    def hanna_app(self) -> HannaApp:
        return cast("HannaApp", self.app)

    def on_runs_polled(self, message: RunsPolled) -> None:
        if not self.ready:
            return
        if message.changed:
            self.runs_changed()
        self.tick()

    def runs_changed(self) -> None:
        """Some run summary changed on disk (a new run, a state, a finished training)."""

    def tick(self) -> None:
        """Every poll: follow what the index does not (metrics of the selected run)."""

    def key_help(self) -> list[tuple[str, str]]:
        """(key, what it does) of this screen, for the help overlay."""
        out = []
        for binding in self.BINDINGS:
            key, description = (
                (binding.key, binding.description) if hasattr(binding, "key") else (binding[0], binding[2] if len(binding) > 2 else "")
            )  # type: ignore[index, union-attr]
            if description:
                out.append((key, description))
        return out


class FollowingScreen(HannaScreen):
    """Fills itself from the run index when first shown and whenever it is shown again."""

    TABLE_ID = ""  # the DataTable that takes the focus

    def on_mount(self) -> None:
        self.ready = True
        if self.is_current:  # a screen built ahead in the background fills itself when shown
            self.hanna_app.ensure_index()
            self.runs_changed()
        self.query_one(f"#{self.TABLE_ID}", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.query_one(f"#{self.TABLE_ID}", DataTable).focus()
        if not self.ready or not self.is_current:
            return
        self.hanna_app.ensure_index()
        self.hanna_app.index.refresh()
        self.runs_changed()
