"""Keeping a DataTable in step with fresh rows without rebuilding it when only cells changed."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import DataTable

Row = tuple[str, Sequence[object]]


def sync_table(table: DataTable, rows: list[Row], keep: str | None = None) -> None:
    """Show rows (key, cells) in order; update cells in place when the keys are unchanged."""
    old_keys = [str(k.value) for k in table.rows]
    new_keys = [key for key, _ in rows]
    if old_keys == new_keys:
        columns = list(table.columns)
        for key, cells in rows:
            current = table.get_row(key)
            for col, (old, new) in enumerate(zip(current, cells, strict=False)):
                if old != new:
                    table.update_cell(key, columns[col], new, update_width=True)
        return
    selected = keep or selected_key(table)
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if selected in new_keys:
        table.move_cursor(row=new_keys.index(selected))


def selected_key(table: DataTable) -> str | None:
    if table.row_count == 0:
        return None
    try:
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
    except Exception:  # noqa: BLE001 - cursor outside the rows
        return None
