"""History: every run in a sortable, filterable table; Pareto view; two runs side by side."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Label, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from ... import fmt
from ...knobs import KNOB_NAMES
from ...store import Run
from ..charts import AXIS_TITLE, MARKERS, MEASURED_MARK, VIEWS, Grid, chart_points, empty_reason, label_of, limits, place_labels
from ..history import SORT_KEYS, HistoryRow, history_row, matches
from ..tables import selected_key, sync_table
from .base import FollowingScreen

COLUMNS = tuple(SORT_KEYS)
# The table is one column of pre-formatted lines: DataTable renders every cell of every visible row,
# so one cell per row keeps opening and scrolling 1,000 runs cheap.
WIDTHS = {
    "run": 31,
    "state": 9,
    "search acc": 6,
    "top-1": 6,
    "E[LAT]": 9,
    "argmax LAT": 9,
    "argmax ENER": 9,
    "E/L": 8,
    "α": 5,
    "β": 5,
    "γ": 5,
    "δ": 5,
    "kind": 8,
    "MACs": 7,
    "mLAT": 9,
    "mENER": 9,
    "device": 8,
    "date": 16,
}
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
        "E/L": "-" if r.dominant in ("-", "?") else f"{r.dominant[0].upper()} {fmt.dominance(r.energy_dominance)}",
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


def row_text(values: list[Any]) -> str:
    return " ".join(_fit(str(v), WIDTHS[c]) for c, v in zip(COLUMNS, values, strict=True))


def header_text(sort_column: str, descending: bool) -> str:
    arrow = "↓" if descending else "↑"
    return row_text([f"{c}{arrow}" if c == sort_column else c for c in COLUMNS])


def _fit(text: str, width: int) -> str:
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


class HistoryScreen(FollowingScreen):
    TABLE_ID = "history-table"

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "focus_table", "Table", show=False),
        Binding("s", "next_sort", "Sort"),
        Binding("o", "reverse", "Order"),
        Binding("x", "mark", "Mark to compare"),
        Binding("p", "show('pareto')", "Charts"),
        Binding("v", "show('compare')", "Compare"),
        Binding("t", "show('table')", "Table", show=False),
        Binding("u", "next_source", "Pareto source", show=False),
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
        self._cells: dict[str, tuple[object, bool, list[Any]]] = {}

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]History[/b]  every run · / filter · s sort · x mark two, v compare · p charts (again: next chart)",
            classes="screen-title",
        )
        with Horizontal(id="filter-row", classes="form-row"):
            yield Label("filter (/)", classes="form-label")
            yield Input(
                placeholder="e.g. done, kind=baseline, device=rpi3b (enter/esc: back to the table)", id="history-filter", compact=True
            )
        yield Static(EMPTY, id="history-empty", classes="empty-state")
        with TabbedContent(id="history-tabs", initial="table"):
            with TabPane("Table", id="table"):
                table: DataTable = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
                table.add_column(header_text(self.sort_column, self.descending), key="row")
                yield table
            with TabPane("Charts", id="pareto"):
                yield PlotextPlot(id="pareto-plot")
                yield Static("", id="pareto-legend")
            with TabPane("Compare", id="compare"):
                yield Static("", id="compare-view")
        yield Footer()

    def runs_changed(self) -> None:
        old = {r.s.id: r for r in self.rows}
        self.rows = [old[s.id] if s.id in old and old[s.id].s is s else history_row(s) for s in self.hanna_app.index.summaries()]
        empty = not self.rows
        self.query_one("#history-empty").display = empty
        self.query_one("#history-tabs").display = not empty
        self.apply()

    def apply(self) -> None:
        query = self.query_one("#history-filter", Input).value.strip()
        rows = [r for r in self.rows if matches(r, query)] if query else list(self.rows)
        rows.sort(key=SORT_KEYS[self.sort_column], reverse=self.descending)
        self.shown_rows = rows
        table = self.query_one("#history-table", DataTable)
        sync_table(table, [(r.s.id, self.cells_of(r)) for r in rows])
        column = table.columns.get(next(iter(table.columns)))
        if column is not None:
            column.label = Text(header_text(self.sort_column, self.descending), style="bold")
        table.refresh()
        active = self.query_one("#history-tabs", TabbedContent).active
        if active == "pareto":
            self.draw_pareto()
        elif active == "compare":
            self.draw_compare()

    def cells_of(self, r: HistoryRow) -> list[Any]:
        """Cells cached per summary object, so unchanged runs cost nothing on a refresh."""
        marked = r.s.id in self.marked
        hit = self._cells.get(r.s.id)
        if hit is not None and hit[0] is r.s and hit[1] == marked:
            return hit[2]
        out = [row_text(cells(r, self.marked))]
        self._cells[r.s.id] = (r.s, marked, out)
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
        xlim, ylim = limits([p.x for p in points]), limits([p.y for p in points])
        for group, marker in MARKERS.items():
            for measured in (False, True):
                items = [p for p in points if p.group == group and p.measured == measured]
                if items:
                    plt.scatter(
                        [p.x for p in items], [p.y for p in items], marker=MEASURED_MARK if measured and group != "optimal" else marker
                    )
        size = widget.size if widget.size.width > 20 else self.size - (0, 9)  # not laid out yet: the screen less the bars
        grid = Grid(size.width, size.height, xlim, ylim)
        for text, x, y in place_labels(points, [label_of(p, self.view) for p in points], grid):
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
        t.add_row(name, Text(str(ca[i]), style=style), Text(str(cb[i]), style=style))
    t.add_row("params", str(a.s.params or "-"), str(b.s.params or "-"))
    arch_a, arch_b = Run(a.s.path).arch() or {}, Run(b.s.path).arch() or {}
    ch_a, ch_b = arch_a.get("choices") or [], arch_b.get("choices") or []
    if ch_a and ch_b:
        diff = [f"{i}: {x} | {y}" for i, (x, y) in enumerate(zip(ch_a, ch_b, strict=False)) if x != y]
        t.add_row("arch diff", Text(f"{len(diff)} of {len(ch_a)} layers differ"), Text("; ".join(diff), overflow="fold"))
    else:
        t.add_row("arch", "sampled" if ch_a else "not sampled", "sampled" if ch_b else "not sampled")
    return t
