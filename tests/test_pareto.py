"""One Pareto module: History and the batch summary mark the same set over latency x energy x accuracy."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures import make_run

from hanna_tui.batch.summary import mark_pareto, run_costs
from hanna_tui.pareto import ACCURACY, ALL, COST, ENERGY, LATENCY, dominates, front, run_point
from hanna_tui.store import Run, list_runs
from hanna_tui.tui.history import history_row, pareto

# name: (state, latency s, energy J, accuracy)
RUNS = {
    "20260101-000001-cheap": ("done", 1.0, 1.0, 0.92),
    "20260101-000002-accurate": ("done", 2.0, 3.0, 0.994),  # costlier in both, but the most accurate
    "20260101-000003-dominated": ("done", 2.5, 3.5, 0.90),
    "20260101-000004-running": ("running", 0.5, 0.5, 0.999),  # not finished: takes no part
}


def write_runs(root: Path) -> None:
    for run_id, (state, lat, ener, acc) in RUNS.items():
        path = make_run(root, run_id, state="done", acc=acc)
        arch = json.loads((path / "arch.json").read_text(encoding="utf-8"))
        arch["predicted"] = {"latency_s": lat, "energy_j": ener}
        (path / "arch.json").write_text(json.dumps(arch), encoding="utf-8")
        status = json.loads((path / "status.json").read_text(encoding="utf-8"))
        status["state"] = state
        status["pid"] = None  # a running fixture without a live process would read as stopped
        (path / "status.json").write_text(json.dumps(status), encoding="utf-8")


def test_objectives_are_named_with_a_direction() -> None:
    assert [o.name for o in ALL] == ["latency", "energy", "accuracy"]
    assert ACCURACY.maximise and not LATENCY.maximise and not ENERGY.maximise
    a = {"latency": 1.0, "energy": 1.0, "accuracy": 0.9}
    b = {"latency": 1.0, "energy": 1.0, "accuracy": 0.8}
    assert dominates(a, b) and not dominates(b, a) and not dominates(a, a)
    assert front([a, b, None, {"latency": 0.1}]) == {0}
    assert run_point("running", 1.0, 1.0, 0.9) is None


def test_history_and_batch_summary_mark_the_same_set(tmp_path: Path) -> None:
    write_runs(tmp_path)
    summaries = {s.id: s for s in list_runs(tmp_path)}
    assert summaries["20260101-000002-accurate"].pred_latency_s == 2.0
    rows = [history_row(summaries[run_id]) for run_id in RUNS]
    placed, on_screen = pareto(rows, "predicted")
    assert len(placed) == 4

    records = []
    for run_id in RUNS:
        record = {"name": run_id, "state": summaries[run_id].state, "pareto": False}
        record.update(run_costs(Run(tmp_path / run_id)))
        records.append(record)
    in_summary = set(mark_pareto(records))

    want = {"20260101-000001-cheap", "20260101-000002-accurate"}
    assert on_screen == in_summary == want
    assert [r["name"] for r in records if r["pareto"]] == sorted(want)


def test_the_accurate_costlier_run_is_lost_when_accuracy_is_left_out() -> None:
    points = [run_point(*values) for values in RUNS.values()]
    assert front(points, ALL) == {0, 1}
    assert front(points, COST) == {0}  # latency x energy alone: the 99.4% run looks dominated
