"""History: every run in a sortable, filterable table; Pareto view; two runs side by side."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from ... import fmt
from ...store import Run
from ..history import SORT_KEYS, HistoryRow, history_row, matches, pareto
from ..tables import selected_key, sync_table
from .base import FollowingScreen

COLUMNS = tuple(SORT_KEYS)
# The table is one column of pre-formatted lines: DataTable renders every cell of every visible row,
# so one cell per row keeps opening and scrolling 1,000 runs cheap.
WIDTHS = {
    "run": 31,
    "state": 9,
    "acc": 6,
    "LAT": 8,
    "ENER": 8,
    "E/L": 8,
    "α": 5,
    "β": 5,
    "γ": 5,
    "δ": 5,
    "kind": 8,
    "MACs": 7,
    "mLAT": 8,
    "mENER": 8,
    "device": 8,
    "date": 16,
}
SOURCES = ("auto", "predicted", "measured")
EMPTY = (
    "No runs yet: the history lists every run under the runs directory.\n"
    "Launch one from the Knobs screen (F1, then ctrl+s), or run `hanna-tui search --config ... --run-dir ...`\n"
    "or `hanna-tui --batch examples/demo.toml`; baselines (`hanna-tui baseline ...`) appear here too."
)


def cells(r: HistoryRow, marked: list[str]) -> list[Any]:
    s, k = r.s, r.s.knobs
    knob = {n: f"{k[n]:g}" if isinstance(k.get(n), (int, float)) else "-" for n in ("alpha", "beta", "gamma", "delta")}
    by_name = {
        "run": ("▶ " if s.id in marked else "") + s.id,
        "state": s.state,
        "acc": fmt.pct(r.acc),
        "LAT": fmt.num(s.pred_latency_s, "s", 3),
        "ENER": fmt.num(s.pred_energy_j, "J", 3),
        "E/L": "-" if r.dominant in ("-", "?") else f"{r.dominant[0].upper()} {fmt.dominance(r.energy_dominance)}",
        "α": knob["alpha"],
        "β": knob["beta"],
        "γ": knob["gamma"],
        "δ": knob["delta"],
        "kind": s.kind,
        "MACs": f"{s.macs / 1e6:.1f}M" if s.macs else "-",
        "mLAT": fmt.num(s.measured_latency_s, "s", 3),
        "mENER": fmt.num(s.measured_energy_j, "J", 3),
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
        Binding("p", "show('pareto')", "Pareto"),
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
        self._cells: dict[str, tuple[object, bool, list[Any]]] = {}

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]History[/b]  every run · / filter (words or key=value) · s sort · x mark two runs, v compare · p Pareto",
            classes="screen-title",
        )
        yield Input(placeholder="filter: e.g. done, kind=baseline, device=rpi3b", id="history-filter", compact=True)
        yield Static(EMPTY, id="history-empty", classes="empty-state")
        with TabbedContent(id="history-tabs", initial="table"):
            with TabPane("Table", id="table"):
                table: DataTable = DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
                table.add_column(header_text(self.sort_column, self.descending), key="row")
                yield table
            with TabPane("Pareto", id="pareto"):
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
        widget = self.query_one("#pareto-plot", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        placed, front = pareto(self.shown_rows, self.source)
        groups = (
            ("search", [(r, p) for r, p in placed if r.s.kind != "baseline" and r.s.id not in front], "•"),
            ("Pareto-optimal", sorted(((r, p) for r, p in placed if r.s.id in front), key=lambda rp: rp[1][0]), "◆"),
            ("baseline", [(r, p) for r, p in placed if r.s.kind == "baseline" and r.s.id not in front], "■"),
        )
        for label, items, marker in groups:
            if items:
                plt.scatter([p[0] for _, p in items], [p[1] for _, p in items], marker=marker, label=label)
        for r, p in placed:
            if (r.s.id in front or r.s.kind == "baseline") and r.acc is not None:
                plt.text(f" {r.acc * 100:.0f}%", p[0], p[1], alignment="left")
        plt.title(f"latency vs energy ({self.source}; labels: accuracy; u: source)")
        plt.xlabel("latency (s)")
        plt.ylabel("energy (J)")
        widget.refresh()
        legend = Text()
        legend.append(f"{len(placed)} runs placed, {len(front)} Pareto-optimal: ", style="bold")
        legend.append(", ".join(sorted(front)) or "-")
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
            "History: Pareto view", "Latency vs energy with the Pareto-optimal runs marked (p)", lambda: self.action_show("pareto")
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
