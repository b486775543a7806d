"""Training childnets and baselines to full accuracy (see loop.py for the files it writes)."""

from .loop import Trainer, TrainResult, checkpoint_exists
from .recipe import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "Trainer", "checkpoint_exists"]
