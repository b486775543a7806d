"""The dashboard's number formatting lives in the core: hanna_tui/fmt.py (this name is kept for old imports)."""

from ..fmt import SCALES_J, SCALES_S, dominance, num, pct, pick_scale, short_date  # noqa: F401
