"""History: every run in a sortable, filterable table; Pareto view; two runs side by side."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from ... import fmt
from ...knobs import KNOB_NAMES
from ...store import Run
from ..charts import AXIS_TITLE, MARKERS, MEASURED_MARK, VIEWS, Grid, chart_points, empty_reason, limits, place_labels, point_labels
from ..footer import HannaFooter
from ..history import SORT_KEYS, HistoryRow, history_row, matches
from ..tables import selected_key, sync_table
from .base import FollowingScreen

COLUMNS = tuple(SORT_KEYS)
HEADERS = {"search acc": "best acc"}  # the column's value is the search's best test accuracy (status best_acc)
# The table is one column of pre-formatted lines: DataTable renders every cell of every visible row,
# so one cell per row keeps opening and scrolling 1,000 runs cheap. Each column is as wide as its
# header (with room for the sort arrow) or its widest value, whichever is wider; a run id past
# RUN_MAX is shortened with an ellipsis.
RUN_MAX = 40
GAP = 1
CHART_VIEWS = tuple(VIEWS)
SOURCES = ("auto", "predicted", "measured")
EMPTY = (
    "No runs yet: the history lists every run under the runs directory.\n"
    "Launch one from the Knobs screen (F1, then ctrl+s), or run `hanna-tui search --config ... --run-dir ...`\n"
    "or `hanna-tui --batch examples/demo.toml`; baselines (`hanna-tui baseline ...`) appear here too."
)


def cells(r: HistoryRow, marked: list[str]) -> list[Any]:
    s, k = r.s, r.s.knobs
    knob = {n: f"{k[n]:g}" if isinstance(k.get(n), (int, float)) else "-" for n in KNOB_NAMES}
    by_name = {
        "run": ("▶ " if s.id in marked else "") + s.id,
        "state": s.state,
        "search acc": fmt.pct(s.search_acc),
        "top-1": fmt.pct(s.top1),
        "E[LAT]": fmt.latency(s.exp_latency_s, 3),
        "argmax LAT": fmt.latency(s.argmax_latency_s, 3),
        "argmax ENER": fmt.energy(s.argmax_energy_j, 3),
        "E/L": el_cell(r),
        "α": knob["alpha"],
        "β": knob["beta"],
        "γ": knob["gamma"],
        "δ": knob["delta"],
        "kind": "proxy" if s.proxy else s.kind,
        "MACs": fmt.count(s.macs),
        "mLAT": fmt.latency(s.measured_latency_s, 3),
        "mENER": fmt.energy(s.measured_energy_j, 3),
        "device": s.device or "-",
        "date": fmt.short_date(s.created),
    }
    return [by_name[c] for c in COLUMNS]


def el_cell(r: HistoryRow) -> str:
    """E/L: the dominant term's letter and vENER/vLAT; "-" without knobs, without a profile or without
    any cost term (alpha = gamma = 0, a budget-only search: the ratio is undefined, not infinite)."""
    if r.dominant in ("-", "?", "none") or r.energy_dominance is None:
        return "-"
    return f"{r.dominant[0].upper()} {fmt.dominance(r.energy_dominance)}"


def header_of(column: str) -> str:
    return HEADERS.get(column, column)


def value_widths(values: list[Any]) -> list[int]:
    return [cell_len(str(v)) for v in values]


def widths_for(rows: list[list[int]]) -> dict[str, int]:
    """Each column as wide as its header plus a sort arrow, or its widest value (a run id at most RUN_MAX);
    rows: the value widths of each run (value_widths)."""
    widths = [cell_len(header_of(c)) + 1 for c in COLUMNS]
    for lens in rows:
        widths = [max(a, b) for a, b in zip(widths, lens, strict=True)]
    out = dict(zip(COLUMNS, widths, strict=True))
    out["run"] = min(out["run"] + 2, RUN_MAX)  # + the mark "▶ " of a run marked later
    return out


def row_text(values: list[Any], widths: dict[str, int]) -> str:
    return (" " * GAP).join(_fit(str(v), widths[c]) for c, v in zip(COLUMNS, values, strict=True)).rstrip()


def header_text(sort_column: str, descending: bool, widths: dict[str, int]) -> str:
    arrow = "↓" if descending else "↑"
    return row_text([f"{header_of(c)}{arrow}" if c == sort_column else header_of(c) for c in COLUMNS], widths)


def sort_caption(sort_column: str, descending: bool) -> str:
    return f"sorted by {header_of(sort_column)} {'↓' if descending else '↑'}"


def _fit(text: str, width: int) -> str:
    return text[: width - 1] + "…" if cell_len(text) > width else text + " " * (width - cell_len(text))


class HistoryScreen(FollowingScreen):
    TABLE_ID = "history-table"

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", tooltip="Filter the runs: words, or field=value (state=done kind=baseline)"),
        Binding("escape", "escape", "Table", show=False, tooltip="Table: leave the filter field; on the table: clear the filter"),
        Binding("s", "next_sort", "Sort", tooltip="Sort by the next column"),
        Binding("o", "reverse", "Order", tooltip="Reverse the sort order"),
        Binding("x", "mark", "Mark", tooltip="Mark the run to compare (two at most)"),
        Binding("p", "show('pareto')", "Charts", tooltip="Charts (again: the next chart)"),
        Binding("v", "show('compare')", "Compare", tooltip="Compare the two marked runs"),
        Binding("t", "show('table')", "Table", show=False),
        Binding("u", "next_source", "Pareto source", show=False, tooltip="Pareto source: auto, predicted or measured costs"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[HistoryRow] = []
        self.shown_rows: list[HistoryRow] = []
        self.sort_column = "date"
        self.descending = True
        self.marked: list[str] = []
        self.source = "auto"
        self.view = CHART_VIEWS[0]
        self._values: dict[str, tuple[object, bool, list[Any], list[int]]] = {}  # per run: summary, marked, values, widths
        self._cells: dict[str, tuple[object, bool, dict[str, int], list[Any]]] = {}  # ... and the row's text
        self.widths: dict[str, int] = widths_for([])
        self._measured: set[str] = set()  # the runs the widths were measured over

    def compose(self) -> ComposeResult:
        yield Static(self.title_text(), id="history-title", classes="screen-title")
        with Horizontal(id="filter-row", classes="form-row"):
            yield Label("filter (/)", classes="form-label")
            yield Input(placeholder="e.g. done kind=baseline device=rpi3b · enter/esc: back", id="history-filter", compact=True)
        yield Static(EMPTY, id="history-empty", classes="empty-state")
        with TabbedContent(id="history-tabs", initial="table"):
            with TabPane("Table", id="table"):
                yield Static("", id="history-nomatch", classes="empty-state")
                table: DataTable = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
                table.add_column(header_text(self.sort_column, self.descending, self.widths), key="row")
                yield table
            with TabPane("Charts", id="pareto"):
                yield PlotextPlot(id="pareto-plot")
                yield Static("", id="pareto-legend")
            with TabPane("Compare", id="compare"):
                yield Static("", id="compare-view")
        yield HannaFooter()

    def title_text(self) -> Text:
        text = Text.from_markup("[b]History[/b]  ")
        text.append(sort_caption(self.sort_column, self.descending), style="bold")
        text.append(" (s/o) · / filter · x mark two, v compare · p charts (again: next)")
        return text

    def runs_changed(self) -> None:
        old = {r.s.id: r for r in self.rows}
        self.rows = [old[s.id] if s.id in old and old[s.id].s is s else history_row(s) for s in self.hanna_app.index.summaries()]
        empty = not self.rows
        self.query_one("#history-empty").display = empty
        self.query_one("#history-tabs").display = not empty
        self.update_widths()
        self.apply()

    def apply(self) -> None:
        query = self.query_one("#history-filter", Input).value.strip()
        rows = [r for r in self.rows if matches(r, query)] if query else list(self.rows)
        rows.sort(key=SORT_KEYS[self.sort_column], reverse=self.descending)
        self.shown_rows = rows
        table = self.query_one("#history-table", DataTable)
        nomatch = self.query_one("#history-nomatch", Static)
        nomatch.display = bool(query) and not rows and bool(self.rows)
        if nomatch.display:
            nomatch.update(Text(f"No runs match the filter {query!r} (esc clears it, / edits it).", style="italic"))
        sync_table(table, [(r.s.id, self.cells_of(r)) for r in rows])
        column = table.columns.get(next(iter(table.columns)))
        if column is not None:
            column.label = Text(header_text(self.sort_column, self.descending, self.widths), style="bold")
        self.query_one("#history-title", Static).update(self.title_text())
        table.refresh()
        active = self.query_one("#history-tabs", TabbedContent).active
        if active == "pareto":
            self.draw_pareto()
        elif active == "compare":
            self.draw_compare()

    def update_widths(self) -> None:
        """Column widths over every run (a filter never moves a column). Runs only added or changed
        widen the columns they need (a poll while a search runs costs one row, not a thousand);
        a run gone has them measured again."""
        ids = {r.s.id for r in self.rows}
        fresh = [r for r in self.rows if not self._value_cached(r)]
        if self._measured - ids or not self._measured:
            widths = widths_for([self._value_entry(r)[3] for r in self.rows])
        else:
            grown = widths_for([self._value_entry(r)[3] for r in fresh])
            widths = {c: max(self.widths[c], grown[c]) for c in COLUMNS}
        self._measured = ids
        if widths != self.widths:
            self.widths = widths  # a new object: every row's text is made again (cells_of)

    def _value_cached(self, r: HistoryRow) -> bool:
        hit = self._values.get(r.s.id)
        return hit is not None and hit[0] is r.s and hit[1] == (r.s.id in self.marked)

    def values_of(self, r: HistoryRow) -> list[Any]:
        """The run's cell values, cached per summary object (and mark)."""
        return self._value_entry(r)[2]

    def _value_entry(self, r: HistoryRow) -> tuple[object, bool, list[Any], list[int]]:
        marked = r.s.id in self.marked
        hit = self._values.get(r.s.id)
        if hit is None or hit[0] is not r.s or hit[1] != marked:
            values = cells(r, self.marked)
            hit = (r.s, marked, values, value_widths(values))
            self._values[r.s.id] = hit
        return hit

    def cells_of(self, r: HistoryRow) -> list[Any]:
        """The row's one cell, cached per summary object, mark and column widths: unchanged runs cost nothing."""
        marked = r.s.id in self.marked
        hit = self._cells.get(r.s.id)
        if hit is not None and hit[0] is r.s and hit[1] == marked and hit[2] is self.widths:
            return hit[3]
        out = [row_text(self.values_of(r), self.widths)]
        self._cells[r.s.id] = (r.s, marked, self.widths, out)
        return out

    # events
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "history-filter":
            self.apply()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_focus_table()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.action_next_sort()

    def on_resize(self) -> None:
        if self.ready and self.query_one("#history-tabs", TabbedContent).active == "pareto":
            self.call_after_refresh(self.draw_pareto)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "pareto":
            self.draw_pareto()
        elif event.pane.id == "compare":
            self.draw_compare()

    # actions
    def action_focus_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#history-table", DataTable).focus()

    def action_escape(self) -> None:
        """escape: out of the filter field back to the table; on the table, clear the filter."""
        field = self.query_one("#history-filter", Input)
        if self.focused is not field and field.value:
            field.value = ""  # Input.Changed applies it
        self.action_focus_table()

    def action_next_sort(self) -> None:
        self.sort_column = COLUMNS[(COLUMNS.index(self.sort_column) + 1) % len(COLUMNS)]
        self.apply()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.apply()

    def action_mark(self) -> None:
        key = selected_key(self.query_one("#history-table", DataTable))
        if key is None:
            return
        if key in self.marked:
            self.marked.remove(key)
        else:
            self.marked = (self.marked + [key])[-2:]
        self.apply()
        if len(self.marked) == 2:
            self.notify("two runs marked: press v to compare them", title="Compare")

    def action_show(self, tab: str) -> None:
        tabs = self.query_one("#history-tabs", TabbedContent)
        if tabs.active == tab == "pareto":
            self.view = CHART_VIEWS[(CHART_VIEWS.index(self.view) + 1) % len(CHART_VIEWS)]
        if tabs.active == tab:
            self.apply()
        tabs.active = tab
        if tab == "table":
            self.action_focus_table()

    def action_next_source(self) -> None:
        self.source = SOURCES[(SOURCES.index(self.source) + 1) % len(SOURCES)]
        self.draw_pareto()

    # views
    def draw_pareto(self) -> None:
        """The current chart (p cycles accuracy-latency, accuracy-energy, latency-energy; u the cost source)."""
        widget = self.query_one("#pareto-plot", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        x_axis, y_axis, title = VIEWS[self.view]
        points = chart_points(self.shown_rows, self.view, self.source)
        legend = Text()
        if not points:
            widget.display = False
            legend.append(empty_reason(self.shown_rows, self.view, self.source), style="italic")
            self.query_one("#pareto-legend", Static).update(legend)
            return
        widget.display = True
        xlim, ylim = limits([p.x for p in points], x_axis), limits([p.y for p in points], y_axis)
        for group, marker in MARKERS.items():
            for measured in (False, True):
                items = [p for p in points if p.group == group and p.measured == measured]
                if items:
                    plt.scatter(
                        [p.x for p in items], [p.y for p in items], marker=MEASURED_MARK if measured and group != "optimal" else marker
                    )
        size = widget.size if widget.size.width > 20 else self.size - (0, 9)  # not laid out yet: the screen less the bars
        left = max(len(f"{v:.1f}") for v in ylim) + 1  # plotext's y tick labels and the axis line
        grid = Grid(size.width, size.height, xlim, ylim, left=left)
        for text, x, y in place_labels(points, point_labels(points, self.view), grid):
            plt.text(text, x, y, alignment="left")
        plt.xlim(*xlim)
        plt.ylim(*ylim)
        plt.title(f"{title} ({self.source} cost; p: next chart, u: source)")
        plt.xlabel(AXIS_TITLE[x_axis])
        plt.ylabel(AXIS_TITLE[y_axis])
        widget.refresh()
        front = sorted(p.row.s.id for p in points if p.optimal)
        legend.append("• search  ■ baseline  ◆ Pareto-optimal  ▲ measured on a board   ", style="bold")
        legend.append(f"{len(points)} runs placed, {len(front)} Pareto-optimal (latency, energy, accuracy): ")
        legend.append(", ".join(front) or "-")
        self.query_one("#pareto-legend", Static).update(legend)

    def draw_compare(self) -> None:
        view = self.query_one("#compare-view", Static)
        rows = {r.s.id: r for r in self.rows}
        picked = [rows[i] for i in self.marked if i in rows]
        if len(picked) < 2:
            view.update(Text("Mark two runs with x in the Table tab (t), then press v to compare them side by side.", style="italic"))
            return
        view.update(compare_table(picked[0], picked[1]))

    def palette_commands(self):
        yield SystemCommand(
            "History: charts",
            "Accuracy vs latency / energy, latency vs energy; Pareto-optimal runs marked (p)",
            lambda: self.action_show("pareto"),
        )
        yield SystemCommand("History: compare", "The two marked runs side by side (v)", lambda: self.action_show("compare"))
        yield SystemCommand("History: filter", "Filter the runs (/)", self.action_focus_filter)
        yield SystemCommand("History: mark run", "Mark the selected run for comparison (x)", self.action_mark)


def compare_table(a: HistoryRow, b: HistoryRow) -> Table:
    t = Table(expand=True)
    t.add_column("")
    t.add_column(a.s.id, overflow="fold")
    t.add_column(b.s.id, overflow="fold")
    ca, cb = cells(a, []), cells(b, [])
    for i, name in enumerate(COLUMNS[1:], start=1):
        style = "bold" if ca[i] != cb[i] else ""
        t.add_row(header_of(name), Text(str(ca[i]), style=style), Text(str(cb[i]), style=style))
    t.add_row("params", str(a.s.params or "-"), str(b.s.params or "-"))
    arch_a, arch_b = Run(a.s.path).arch() or {}, Run(b.s.path).arch() or {}
    ch_a, ch_b = arch_a.get("choices") or [], arch_b.get("choices") or []
    if ch_a and ch_b:
        diff = [f"{i}: {x} | {y}" for i, (x, y) in enumerate(zip(ch_a, ch_b, strict=False)) if x != y]
        t.add_row("arch diff", Text(f"{len(diff)} of {len(ch_a)} layers differ"), Text("; ".join(diff), overflow="fold"))
    else:
        t.add_row("arch", "sampled" if ch_a else "not sampled", "sampled" if ch_b else "not sampled")
    return t
