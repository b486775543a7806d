"""The dashboard's footer: the screen's own keys first, then the keys that work everywhere, always.

Textual's Footer lists every shown binding in a row and lets the row run off the right edge, so at
80 columns quit, the screen switch and help were the first to go. This one is compact and has a
fixed tail (1-5 screens, ? help, ^q quit: the essentials, never dropped) after the screen's keys,
which fill the room left in the order the screen declares them (its most important first); a key
that does not fit is left out of the footer, never out of `?`, which lists every key. The ^p
palette key is the last to get room (shown where every key of the screen fits beside it; `?` names
it too). In a text field, escape (which gives the letter keys back to the screen) comes first.
The key of the screen shown is lit in the 1-5 group. Recomposed when the bindings change (focus
moves) or the terminal is resized, never per keystroke.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

SCREEN_KEYS = Binding.Group("screens", compact=True)
ESSENTIAL_ACTIONS = ("help", "quit")  # after the 1-5 group, in this order


Item = tuple[Binding, bool, str]  # binding, enabled, tooltip


def key_width(key_display: str, description: str) -> int:
    """Cells of one compact footer key: 'key description' and its right margin."""
    return cell_len(key_display) + (1 + cell_len(description) if description else 0) + 1


def group_width(keys: list[str], label: str) -> int:
    """Cells of a compact key group: padding, the keys run together, a margin, the label and its margin."""
    return 1 + sum(cell_len(k) for k in keys) + 1 + cell_len(label) + 1


def fit(widths: list[int], room: int) -> int:
    """How many of the leading items (in priority order) fit in room cells."""
    used = 0
    for count, width in enumerate(widths):
        if used + width > room:
            return count
        used += width
    return len(widths)


class HannaFooter(Footer):
    """A compact footer whose essentials (1-5, ?, ^q) are always shown; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__(compact=True, **kwargs)
        self._width = 0

    def _items(self) -> tuple[list[Item], list[Item], list[Item]]:
        """(the screen's keys, the 1-5 group, the other essentials) of the shown bindings, one per action."""
        by_action: dict[str, Item] = {}
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = (binding, enabled, tooltip)
        own = [item for item in by_action.values() if item[0].group is not SCREEN_KEYS and item[0].action not in ESSENTIAL_ACTIONS]
        leave = self.screen.active_bindings.get("escape")
        if isinstance(self.screen.focused, Input) and leave is not None and leave.binding.description:
            # in a text field the letter keys type: escape, which gives them back to the screen, comes first
            own = [(leave.binding, leave.enabled, leave.tooltip)] + [item for item in own if item[0].action != leave.binding.action]
        screens = [item for item in by_action.values() if item[0].group is SCREEN_KEYS]
        essentials = [by_action[a] for a in ESSENTIAL_ACTIONS if a in by_action]
        return own, screens, essentials

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        app = self.app
        own, screens, essentials = self._items()
        self._width = self.size.width or app.size.width
        room = self._width - 1  # the footer's left padding
        if screens:
            room -= group_width([app.get_key_display(b) for b, _, _ in screens], SCREEN_KEYS.description)
        room -= sum(key_width(app.get_key_display(b), b.description) for b, _, _ in essentials)
        widths = [key_width(app.get_key_display(b), b.description) for b, _, _ in own]
        palette = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            palette = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
            if palette is not None:  # the last to get room: shown when every key of the screen fits beside it
                need = 1 + key_width(app.get_key_display(palette.binding), palette.binding.description)
                if sum(widths) + need <= room:
                    room -= need
                else:
                    palette = None
        shown = own[: fit(widths, room)]
        yield from self._keys(shown)
        if screens:
            current = f"switch_mode('{getattr(app, 'current_mode', '')}')"
            with KeyGroup(classes="-compact"):
                for binding, enabled, tooltip in screens:
                    classes = "-grouped" + (" -current" if binding.action == current else "")
                    yield FooterKey(
                        binding.key,
                        app.get_key_display(binding),
                        "",
                        binding.action,
                        disabled=not enabled,
                        tooltip=tooltip or binding.description,
                        classes=classes,
                    ).data_bind(compact=Footer.compact)
            yield FooterLabel(SCREEN_KEYS.description)
        yield from self._keys(essentials)
        if palette is not None:
            yield FooterKey(
                palette.binding.key,
                app.get_key_display(palette.binding),
                palette.binding.description,
                palette.binding.action,
                classes="-command-palette",
                disabled=not palette.enabled,
                tooltip=palette.binding.tooltip or palette.binding.description,
            )

    def _keys(self, items: list[Item]) -> Iterator[FooterKey]:
        for binding, enabled, tooltip in items:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)

    def on_resize(self, event: Resize) -> None:
        if self._bindings_ready and event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)
