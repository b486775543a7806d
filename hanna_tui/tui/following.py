"""Screens fed by the app's run index (Runs, History)."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import DataTable


class FollowingScreen(Screen):
    """Fills itself from the run index when first shown and whenever it is shown again."""

    TABLE_ID = ""  # the DataTable that takes the focus

    def on_mount(self) -> None:
        self.ready = True
        if self.is_current:  # a screen built ahead in the background fills itself when shown
            self.app.ensure_index()
            self.runs_changed()
        self.query_one(f"#{self.TABLE_ID}", DataTable).focus()

    def on_screen_resume(self) -> None:
        if not getattr(self, "ready", False) or not self.is_current:
            return
        self.app.ensure_index()
        self.app.index.refresh()
        self.runs_changed()

    def runs_changed(self) -> None:
        raise NotImplementedError
