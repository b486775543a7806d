"""Deploy a run's model to a target: export TorchScript -> upload -> agent -> result JSON in the run.

The result goes to RUN/deploy/<target>-<timestamp>.json (atomically, and only when the
measurement is complete): target, time, measured {latency_s, energy_j, stats}, predicted
{latency_s, energy_j} from arch.json, board information.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..fsutil import atomic_write_json
from ..store import Run
from .energy import EnergyConfig
from .profiler import BenchOptions, ConnectOptions
from .runner import AgentSession, open_target


@dataclass
class DeployRequest:
    run: Run
    connect: ConnectOptions
    bench: BenchOptions = field(default_factory=BenchOptions)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    trained: bool = True
    deadline_s: float | None = None


@dataclass
class ExportedModel:
    path: Path
    input_shape: list[int]
    sha256: str
    weights: str


StepCallback = Callable[[str], None]


def export_run_model(run: Run, folder: Path, trained: bool = True) -> ExportedModel:
    """TorchScript of the run's model (trained weights when present, else random ones: enough for latency)."""
    model, input_shape, weights = _load_model(run, trained)
    path = folder / "model.ts"
    try:
        from ..export import export_torchscript
    except ImportError:  # pragma: no cover - the core export module is expected to exist
        export_torchscript = _trace_export
    export_torchscript(model, input_shape, path)
    return ExportedModel(path, list(input_shape), hashlib.sha256(path.read_bytes()).hexdigest(), weights)


def _load_model(run: Run, trained: bool) -> tuple[Any, list[int], str]:
    try:
        from ..models import load_run_model, trained_state
    except ImportError:  # pragma: no cover
        return _fallback_model(run)
    model, shape = load_run_model(run, trained=trained)
    weights = "trained" if trained and trained_state(run) is not None else "random"
    return model, list(shape), weights


def _fallback_model(run: Run) -> tuple[Any, list[int], str]:
    from ..space import get_space
    from ..space.blocks import childnet_from_arch

    arch = run.arch()
    if not isinstance(arch, dict) or "choices" not in arch:
        raise UserError(f"{run.path}: no arch.json (sample the childnet first: hanna-tui sample {run.id})")
    size = get_space(arch["space"]).input_size
    return childnet_from_arch(arch).eval(), [1, 3, size, size], "random"


def _trace_export(model: Any, input_shape: list[int], path: Path) -> Path:  # pragma: no cover - fallback
    import torch

    with torch.no_grad():
        traced = torch.jit.freeze(torch.jit.trace(model.eval(), torch.randn(*input_shape)))
    torch.jit.save(traced, str(path))
    return path


def check_deployable(run: Run) -> None:
    """Fail before connecting when the run has no model to deploy (e.g. no arch.json yet)."""
    if not run.exists():
        raise UserError(f"{run.path}: not a run directory (expected run.json)")
    try:
        from ..models import spec_for_run
    except ImportError:  # pragma: no cover
        return
    spec_for_run(run)


def predicted_cost(run: Run) -> dict[str, Any]:
    """arch.json's prediction (LUT sums), plus the calibrated latency when its profile carries a calibration."""
    arch = run.arch() or {}
    if not isinstance(arch, dict):
        arch = {}
    predicted = arch.get("predicted", {}) or {}
    out = {"latency_s": predicted.get("latency_s"), "energy_j": predicted.get("energy_j"), "profile": arch.get("profile")}
    calibrated = _calibrated_latency(arch)
    if calibrated is not None:
        out["latency_calibrated_s"] = calibrated
    return out


def _calibrated_latency(arch: dict[str, Any]) -> float | None:
    from .calibration import from_profile, predict_latency

    path = arch.get("profile")
    if not path or not Path(path).is_file() or not isinstance(arch.get("indices"), list):
        return None
    try:
        from ..profiles import load_profile

        profile = load_profile(path)
        if from_profile(profile) is None or profile.width_mult != float(arch.get("width_mult", 1.0)):
            return None
        return predict_latency(profile, [int(i) for i in arch["indices"]])
    except (UserError, ValueError, KeyError):
        return None


def target_slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "target"


def deploy_run(req: DeployRequest, step: StepCallback | None = None) -> tuple[Path, dict[str, Any]]:
    """Measure the run's model on the target; returns the result path and document."""
    req.bench.validate()
    note = step or (lambda _msg: None)
    check_deployable(req.run)
    note(f"connecting to {req.connect.target}")
    target = open_target(req.connect.target, req.connect.trust_new_host, req.connect.known_hosts)
    try:
        session = AgentSession(target, req.connect.remote_python, req.connect.remote_dir)
        note("installing the agent" if session.ensure_agent() else "agent already installed")
        note("probing the board")
        session.probe()
        with tempfile.TemporaryDirectory(prefix="hanna-deploy-") as tmp:
            note("exporting TorchScript")
            exported = export_run_model(req.run, Path(tmp), req.trained)
            doc = _measure(req, session, exported, note)
    finally:
        target.close()
    result = build_result(req, exported, doc, session)
    path = req.run.path / "deploy" / f"{target_slug(req.connect.target)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(path, result)
    note(f"saved {path}")
    return path, result


def _measure(req: DeployRequest, session: AgentSession, exported: ExportedModel, note: StepCallback) -> dict:
    remote_model = f"{session.workdir}/models/{exported.sha256[:16]}.ts"
    note("uploading the model")
    _upload_model(session.target, exported, remote_model)
    note("measuring")
    job = {"mode": "model", "model_path": remote_model, "input_shape": exported.input_shape,
           "bench": asdict(req.bench), "energy": req.energy.agent_spec()}
    deadline = req.deadline_s or (120 + 3 * req.bench.max_s + req.bench.warmup_s)
    return session.run_job(job, deadline)


def _upload_model(target: Any, exported: ExportedModel, remote_path: str) -> None:
    folder = remote_path.rsplit("/", 1)[0]
    q = shlex.quote(remote_path)
    check = target.run(f"mkdir -p {shlex.quote(folder)} && (sha256sum {q} 2>/dev/null || shasum -a 256 {q} 2>/dev/null)", 60)
    if check.rc == 0 and check.text().split()[:1] == [exported.sha256]:
        return
    target.upload(exported.path.read_bytes(), remote_path)


def build_result(req: DeployRequest, exported: ExportedModel, doc: dict, session: AgentSession) -> dict[str, Any]:
    record = doc["model"]
    latency = record["latency"]
    energy_info = record.get("energy")
    energy_j = None
    if req.energy.source == "paper":
        energy_j = req.energy.paper_energy("model", latency["mean"])
    elif energy_info:
        energy_j = energy_info.get("energy_j")
    return {
        "target": req.connect.target,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": req.run.id,
        "complete": True,
        "measured": {
            "latency_s": latency[req.bench.statistic],
            "energy_j": energy_j,
            "statistic": req.bench.statistic,
            "clock": req.bench.clock,
            "stats": latency,
            "energy": energy_info,
            "energy_source": req.energy.describe(),
        },
        "predicted": predicted_cost(req.run),
        "model": {"format": "torchscript", "sha256": exported.sha256, "input_shape": record["input_shape"], "weights": exported.weights},
        "bench": doc.get("bench", asdict(req.bench)),
        "board": doc.get("board", {}),
        "probe": session.probe_info,
        "thermal_before": doc.get("thermal_before", {}),
        "thermal_after": doc.get("thermal_after", {}),
        "agent_sha256": session.hash,
    }
