"""The batch summary: every run with its settings, state, predicted and measured cost, accuracy; the Pareto set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store import Run, summarize
from .pipeline import Job, JobResult, planned_steps, search_state, step_done

PARETO_BASIS = {"latency": "pred_latency_s (min)", "energy": "pred_energy_j (min)", "accuracy": "top1, else search_acc (max)"}


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
    record.update(_costs(run))
    record["knobs"] = record["knobs"] or job.knobs
    record["pareto"] = False
    return record


def _state_from_files(job: Job) -> str:
    if all(step_done(job, s) for s in planned_steps(job)):
        return "done"
    state = search_state(Path(job.run_dir))
    return "queued" if state == "missing" else f"incomplete ({state})"


def _costs(run: Run) -> dict[str, Any]:
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


def _objectives(record: dict[str, Any]) -> tuple[float, float, float] | None:
    values = (record.get("pred_latency_s"), record.get("pred_energy_j"), record.get("accuracy"))
    if record.get("state") != "done" or not all(isinstance(v, (int, float)) for v in values):
        return None
    lat, ener, acc = values
    return float(lat), float(ener), -float(acc)  # every objective minimised


def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


def mark_pareto(records: list[dict[str, Any]]) -> list[str]:
    """Flag the non-dominated finished runs (min latency, min energy, max accuracy); return their names."""
    points = [(r, _objectives(r)) for r in records]
    candidates = [(r, p) for r, p in points if p is not None]
    front = []
    for record, point in candidates:
        if not any(dominates(other, point) for _, other in candidates if other is not point):
            record["pareto"] = True
            front.append(record["name"])
    return front


def counts(records: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for record in records:
        key = record["state"].split(" ", 1)[0]
        out[key] = out.get(key, 0) + 1
    return out
