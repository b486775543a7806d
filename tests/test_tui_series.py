"""The epoch curves of a search: one point per epoch although a search logs several phases per epoch."""

from __future__ import annotations

from pathlib import Path

from hanna_tui.store import create_run_at
from hanna_tui.tui.runindex import MetricsFollower


def test_epoch_series_keeps_one_point_per_epoch(tmp_path: Path) -> None:
    run = create_run_at(tmp_path / "r", "r")
    for epoch, (theta_loss, weights_loss, test_acc) in enumerate([(9.0, 5.0, 0.2), (8.0, 4.0, 0.4)], start=1):
        run.log_metrics({"kind": "interval", "epoch": epoch, "step": epoch * 10, "phase": "weights", "loss": weights_loss, "acc": 0.9})
        run.log_metrics({"kind": "epoch", "epoch": epoch, "phase": "theta", "loss": theta_loss, "acc": 0.1, "lat": 3.0})
        run.log_metrics({"kind": "epoch", "epoch": epoch, "phase": "weights", "loss": weights_loss, "acc": 0.5, "lat": 2.9})
        run.log_metrics({"kind": "epoch", "epoch": epoch, "phase": "eval", "loss": 2.0, "acc": test_acc, "lat": 2.5})
    follower = MetricsFollower(run.metrics_path)
    follower.poll()
    assert follower.series("epoch", "loss") == ([1.0, 2.0], [5.0, 4.0])
    assert follower.series("epoch", "acc") == ([1.0, 2.0], [0.2, 0.4])
    assert follower.series("epoch", "lat") == ([1.0, 2.0], [2.9, 2.9])
    assert follower.series("interval", "loss") == ([10.0, 20.0], [5.0, 4.0])
