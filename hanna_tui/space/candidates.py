"""The paper's 9 candidate blocks, in the column order of the authors' lookup tables."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    name: str
    kernel: int = 0
    expansion: int = 0
    group: int = 1
    is_skip: bool = False


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("k3_e1", 3, 1, 1),
    Candidate("k3_e1_g2", 3, 1, 2),
    Candidate("k3_e3", 3, 3, 1),
    Candidate("k3_e6", 3, 6, 1),
    Candidate("k5_e1", 5, 1, 1),
    Candidate("k5_e1_g2", 5, 1, 2),
    Candidate("k5_e3", 5, 3, 1),
    Candidate("k5_e6", 5, 6, 1),
    Candidate("skip", is_skip=True),
)
CANDIDATE_NAMES: tuple[str, ...] = tuple(c.name for c in CANDIDATES)
SKIP_INDEX = CANDIDATE_NAMES.index("skip")


def candidate_index(name: str) -> int:
    try:
        return CANDIDATE_NAMES.index(name)
    except ValueError:
        raise ValueError(f"unknown candidate block {name!r} (expected one of {', '.join(CANDIDATE_NAMES)})") from None
