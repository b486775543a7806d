"""What every dashboard screen shares: the typed app accessor, the run-change messages, following screens."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding
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
    """A screen of the dashboard: reaches the app's state through `hanna_app`, never `self.app.<attr>`.

    Focus model: the HOME widget (a table, a list, the form itself: never a text field) holds the
    focus when the screen is shown and after escape, so single-letter keys act on the screen; text
    goes into a field only once the user enters it (tab, a click or the screen's key for it).
    """

    HOME = ""  # selector of the widget that holds the focus when no field is entered
    BINDINGS = [Binding("escape", "home", "Leave field", show=False)]
    ready = False

    @property
    def hanna_app(self) -> HannaApp:
        return cast("HannaApp", self.app)

    def action_home(self) -> None:
        if self.HOME:
            self.query_one(self.HOME).focus()

    def on_screen_resume(self) -> None:
        self.action_home()

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


class FollowingScreen(HannaScreen):
    """Fills itself from the run index when first shown and whenever it is shown again."""

    TABLE_ID = ""  # the DataTable that takes the focus

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.HOME = f"#{cls.TABLE_ID}" if cls.TABLE_ID else cls.HOME

    def on_mount(self) -> None:
        self.ready = True
        if self.is_current:  # a screen built ahead in the background fills itself when shown
            self.hanna_app.ensure_index()
            self.runs_changed()
        self.query_one(f"#{self.TABLE_ID}", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.action_home()
        if not self.ready or not self.is_current:
            return
        self.hanna_app.ensure_index()
        self.hanna_app.index.refresh()
        self.runs_changed()
