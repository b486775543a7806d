"""hanna-tui: hardware-aware (latency + energy) FBNet architecture search, with a terminal dashboard."""

__version__ = "0.1.0"
