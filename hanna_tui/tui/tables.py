"""Keeping a DataTable in step with fresh rows without rebuilding it when only cells changed.

DataTable measures every cell it is given, so a rebuild of 1,000 rows is fed in chunks: the first
screenful shows at once and the rest follows on later ticks, keeping the UI responsive.
A plain string cell is shown as literal text (DataTable would read it as Rich markup, and a run's
name or folder can hold "[/]" or a terminal escape), so what a file says is what the row shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from ..fmt import printable

Row = tuple[str, Sequence[object]]
FIRST_CHUNK = 40
CHUNK = 100
FEED_PAUSE_S = 0.05


def sync_table(table: DataTable, rows: list[Row], keep: str | None = None) -> None:
    """Show rows (key, cells) in order; update cells in place when the keys are unchanged."""
    pending = getattr(table, "_hanna_pending", None)
    old_keys = [str(k.value) for k in table.rows]
    new_keys = [key for key, _ in rows]
    if not pending and old_keys == new_keys:
        _update_cells(table, rows)
        return
    selected = keep or selected_key(table)
    table.clear()
    table._hanna_shown = {}  # type: ignore[attr-defined]
    token = object()
    table._hanna_pending = token  # type: ignore[attr-defined]
    _add(table, rows[:FIRST_CHUNK])
    _place_cursor(table, new_keys[:FIRST_CHUNK], selected)
    if len(rows) > FIRST_CHUNK:
        table.set_timer(FEED_PAUSE_S, lambda: _feed(table, rows, FIRST_CHUNK, token, selected))
    else:
        table._hanna_pending = None  # type: ignore[attr-defined]


def _feed(table: DataTable, rows: list[Row], start: int, token: object, selected: str | None) -> None:
    if getattr(table, "_hanna_pending", None) is not token:
        return  # a newer rebuild took over
    end = start + CHUNK
    _add(table, rows[start:end])
    if selected and selected_key(table) != selected and selected in {k for k, _ in rows[start:end]}:
        _place_cursor(table, [k for k, _ in rows[:end]], selected)
    if end < len(rows):
        table.set_timer(FEED_PAUSE_S, lambda: _feed(table, rows, end, token, selected))
    else:
        table._hanna_pending = None  # type: ignore[attr-defined]


def is_complete(table: DataTable) -> bool:
    return getattr(table, "_hanna_pending", None) is None


def _add(table: DataTable, rows: list[Row]) -> None:
    shown: dict[str, object] = getattr(table, "_hanna_shown", {})
    table._hanna_shown = shown  # type: ignore[attr-defined]
    for key, cells in rows:
        shown[key] = cells
        table.add_row(*map(literal, cells), key=key)


def literal(cell: object) -> object:
    """A string cell as literal text without control characters; other cells as they are."""
    return Text(printable(cell), end="") if isinstance(cell, str) else cell


def _update_cells(table: DataTable, rows: list[Row]) -> None:
    columns = list(table.columns)
    shown: dict[str, object] = getattr(table, "_hanna_shown", {})
    for key, cells in rows:
        if shown.get(key) is cells:
            continue  # the very same (cached) cells: nothing changed
        shown[key] = cells
        current = table.get_row(key)
        for col, (old, new) in enumerate(zip(current, map(literal, cells), strict=False)):
            if old != new:
                table.update_cell(key, columns[col], new, update_width=True)


def _place_cursor(table: DataTable, keys: list[str], selected: str | None) -> None:
    if selected in keys:
        table.move_cursor(row=keys.index(selected))


def selected_key(table: DataTable) -> str | None:
    if table.row_count == 0:
        return None
    try:
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
    except Exception:  # noqa: BLE001 - cursor outside the rows
        return None
