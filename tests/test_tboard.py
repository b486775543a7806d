"""TensorBoard events: scalars and the theta heatmap read back with tensorboard's EventAccumulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hanna_tui.tboard import MISSING_RGB, RAMP, EventSink, colour, heatmap


def test_heatmap_shape_and_colours() -> None:
    probs = [[0.0] * 9 for _ in range(22)]
    probs[3][4] = 1.0
    probs[0][8] = float("nan")  # a padded candidate
    image = heatmap(probs, cell=2)
    assert tuple(image.shape) == (44, 18, 3)
    assert tuple(image[6, 8].tolist()) == RAMP[-1]
    assert tuple(image[0, 16].tolist()) == MISSING_RGB
    assert colour(0.0) == RAMP[0] and colour(2.0) == RAMP[-1]


def test_events_read_back(tmp_path: Path) -> None:
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator", reason="tensorboard is not installed (optional extra)"
    )
    logdir = tmp_path / "tb"
    with EventSink(logdir) as sink:
        assert sink.enabled
        for step in range(3):
            sink.scalars(step, {"search/loss": 2.0 - step, "search/acc": 0.1 * step, "skip/nan": float("nan"), "skip/text": "x"})
            sink.theta_image(step, [[1 / 9] * 9 for _ in range(22)])
    events = accumulator.EventAccumulator(str(logdir), size_guidance={accumulator.IMAGES: 0, accumulator.SCALARS: 0})
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["search/acc", "search/loss"]
    assert [e.value for e in events.Scalars("search/loss")] == [2.0, 1.0, 0.0]
    assert [e.step for e in events.Scalars("search/acc")] == [0, 1, 2]
    images = events.Images("theta")
    assert len(images) == 3 and (images[0].height, images[0].width) == (22 * 12, 9 * 12)
    assert images[0].encoded_image_string.startswith(b"\x89PNG")


def test_no_tensorboard_is_a_noop_with_one_warning(tmp_path: Path) -> None:
    code = f"""
import sys, warnings
sys.modules["tensorboard"] = None
sys.modules["torch.utils.tensorboard"] = None
from hanna_tui.tboard import EventSink
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for _ in range(3):
        sink = EventSink({str(tmp_path / "tb")!r})
        sink.scalars(0, {{"loss": 1.0}})
        sink.theta_image(0, [[0.1] * 9] * 22)
        sink.close()
assert not sink.enabled
print(len(caught), caught[0].message)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    count, message = proc.stdout.split(" ", 1)
    assert count == "1" and "tensorboard" in message
    assert not (tmp_path / "tb").exists()
