"""Childnet training also writes TensorBoard events (the paper visualised its runs there)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_train_loop import search_run, tiny_config

from hanna_tui.models import spec_for_run
from hanna_tui.store import Run
from hanna_tui.train import Trainer


def test_training_writes_scalar_events_matching_its_metrics(isolated_runs_root: Path) -> None:
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    threads = torch.get_num_threads()
    try:
        out = isolated_runs_root / "trained"
        result = Trainer(out, spec_for_run(search_run(isolated_runs_root)), tiny_config(2)).run()
    finally:
        torch.set_num_threads(threads)
    assert result.state == "done"
    events = EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    top1 = [r["top1"] for r in Run(out).metrics("epoch")]
    assert len(top1) == 2
    assert [round(e.value, 6) for e in events.Scalars("epoch/top1")] == [round(v, 6) for v in top1]
    assert "interval/loss" in events.Tags()["scalars"]
