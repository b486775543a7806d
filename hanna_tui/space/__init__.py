"""Search spaces as data: candidate blocks and macro-architectures (no torch here)."""

from .candidates import CANDIDATE_NAMES, CANDIDATES, Candidate, candidate_index
from .macro import SPACE_NAMES, LayerSpec, SearchSpace, get_space

__all__ = [
    "CANDIDATES",
    "CANDIDATE_NAMES",
    "Candidate",
    "LayerSpec",
    "SPACE_NAMES",
    "SearchSpace",
    "candidate_index",
    "get_space",
]
