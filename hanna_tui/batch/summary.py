"""The batch summary: every run with its settings, state, predicted and measured cost, accuracy; the Pareto set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import fmt
from ..pareto import ACCURACY, ENERGY, LATENCY, front, run_point
from ..store import Run, summarize
from .pipeline import Job, JobResult, planned_steps, search_state, step_done

PARETO_BASIS = {
    LATENCY.name: "pred_latency_s (min)",
    ENERGY.name: "pred_energy_j (min)",
    ACCURACY.name: "top1, else search_acc (max)",
}


def run_record(job: Job, result: JobResult | None) -> dict[str, Any]:
    run = Run(job.run_dir)
    record: dict[str, Any] = {
        "name": job.name,
        "label": job.label,
        "index": job.index,
        "settings": job.settings,
        "run_dir": job.run_dir,
        "state": result.state if result else _state_from_files(job),
        "steps": result.steps if result else {s: ("done" if step_done(job, s) else "pending") for s in planned_steps(job)},
        "error": result.error if result else "",
    }
    record.update(run_costs(run))
    record["knobs"] = record["knobs"] or job.knobs
    record["pareto"] = False
    return record


def _state_from_files(job: Job) -> str:
    if all(step_done(job, s) for s in planned_steps(job)):
        return "done"
    state = search_state(Path(job.run_dir))
    return "queued" if state == "missing" else f"incomplete ({state})"


def run_costs(run: Run) -> dict[str, Any]:
    if not run.path.is_dir():
        return {
            "knobs": {},
            "pred_latency_s": None,
            "pred_energy_j": None,
            "search_acc": None,
            "top1": None,
            "accuracy": None,
            "measured": [],
        }
    s = summarize(run)
    measured = [
        {"target": d.get("target", ""), **{k: d.get("measured", {}).get(k) for k in ("latency_s", "energy_j")}}
        for d in run.deploy_results()
    ]
    return {
        "knobs": s.knobs,
        "pred_latency_s": s.pred_latency_s,
        "pred_energy_j": s.pred_energy_j,
        "search_acc": s.search_acc,
        "top1": s.top1,
        "accuracy": s.top1 if s.top1 is not None else s.search_acc,
        "params": s.params,
        "macs": s.macs,
        "measured": measured,
    }


def mark_pareto(records: list[dict[str, Any]]) -> list[str]:
    """Flag the non-dominated finished runs (pareto.ALL: min latency, min energy, max accuracy); return their names."""
    points = [run_point(r.get("state", ""), r.get("pred_latency_s"), r.get("pred_energy_j"), r.get("accuracy")) for r in records]
    optimal = front(points)
    for i in sorted(optimal):
        records[i]["pareto"] = True
    return [records[i]["name"] for i in sorted(optimal)]


def counts(records: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for record in records:
        key = record["state"].split(" ", 1)[0]
        out[key] = out.get(key, 0) + 1
    return out


def summary_lines(records: list[dict[str, Any]]) -> list[str]:
    """The summary as a table for people (stderr): state, predicted cost, accuracy, Pareto mark."""
    lines = [f"{'run':28s} {'state':10s} {'latency':>10s} {'energy':>10s} {'acc':>6s}  pareto"]
    for r in records:
        lines.append(
            f"{str(r['name'])[:28]:28s} {str(r['state']).split(' ', 1)[0][:10]:10s} "
            f"{fmt.latency(r.get('pred_latency_s')):>10s} {fmt.energy(r.get('pred_energy_j')):>10s} "
            f"{fmt.pct(r.get('accuracy')):>6s}  {'*' if r.get('pareto') else ''}"
        )
    return lines
