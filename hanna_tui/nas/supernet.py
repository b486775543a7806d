"""The supernet: stem, 22 mixed layers over the allowed candidates, head; theta and Gumbel-softmax.

Built from the same space definition as the childnet (hanna_tui.space.blocks), so stem, strides
and resolutions can never disagree.

theta is one (22, 9) parameter; cells of candidates a layer does not allow (the padded 9th
column of the 8-candidate layers) are masked to -inf before every softmax, so they never get
probability, gradient or a module.

Two ways to run a step:

- ``mixture`` (the paper): Gumbel noise is drawn per sample, every allowed candidate runs and its
  output is weighted by that sample's Gumbel-softmax weight.
- ``sampled`` (GDAS-style straight-through): Gumbel noise is drawn once per layer per step, the
  candidate with the largest perturbed logit runs for the whole batch, and its output is
  multiplied by ``hard - soft.detach() + soft`` (value 1, gradient of the soft weight). Only one
  candidate per layer runs, which is what makes a search affordable on a small machine.

In both modes the cost terms use the soft weights (eq. 4: sum of mask * LUT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..space import CANDIDATE_NAMES, SearchSpace
from ..space.blocks import CandidateBlock, build_head, build_layer_block, build_stem, init_weights

MODES = ("mixture", "sampled")


def gumbel_noise(shape: tuple[int, ...], device: torch.device | str) -> torch.Tensor:
    """Standard Gumbel(0, 1) samples from the global torch RNG (seeded runs repeat)."""
    u = torch.rand(shape, device=device).clamp_(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


@dataclass
class Weights:
    """What one forward pass uses: per-layer soft weights and, in sampled mode, the chosen candidates."""

    soft: torch.Tensor  # (N, L, 9) in mixture mode, (1, L, 9) in sampled mode; 0 on padded cells
    choices: list[int] | None = None  # sampled mode: candidate index per layer
    straight: torch.Tensor | None = None  # sampled mode: (L,) straight-through factor (value 1)


class MixedLayer(nn.Module):
    """One searchable layer: one module per allowed candidate (padded cells have none)."""

    def __init__(self, space: SearchSpace, layer_index: int) -> None:
        super().__init__()
        self.allowed: tuple[int, ...] = space.layers[layer_index].allowed
        self.ops = nn.ModuleList([build_layer_block(space, layer_index, j) for j in self.allowed])
        self.slot = {j: k for k, j in enumerate(self.allowed)}

    def forward_mixture(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """weights: (N, 9) per-sample weights; every allowed candidate runs."""
        out: torch.Tensor | None = None
        for j, op in zip(self.allowed, self.ops, strict=True):
            term = op(x) * weights[:, j].view(-1, 1, 1, 1).to(x.dtype)
            out = term if out is None else out + term
        assert out is not None
        return out

    def forward_one(self, x: torch.Tensor, candidate: int, factor: torch.Tensor | None = None) -> torch.Tensor:
        out = self.ops[self.slot[candidate]](x)
        return out if factor is None else out * factor.to(out.dtype)


class Supernet(nn.Module):
    def __init__(self, space: SearchSpace, dropout: float = 0.0) -> None:
        super().__init__()
        self.space = space
        self.stem = build_stem(space)
        self.layers = nn.ModuleList([MixedLayer(space, i) for i in range(space.num_layers)])
        self.head = build_head(space, dropout)
        init_weights(self)
        zero_init_residuals(self)
        self.theta = nn.Parameter(torch.zeros(space.num_layers, len(CANDIDATE_NAMES)))
        self.register_buffer("mask", torch.tensor(space.mask(), dtype=torch.bool), persistent=False)

    # parameters
    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name != "theta"]

    def theta_parameters(self) -> list[nn.Parameter]:
        return [self.theta]

    def set_trainable(self, weights: bool, theta: bool) -> None:
        for p in self.weight_parameters():
            p.requires_grad_(weights)
        self.theta.requires_grad_(theta)

    # architecture distribution
    def masked_theta(self) -> torch.Tensor:
        return self.theta.masked_fill(~self.mask, float("-inf"))

    def probabilities(self) -> torch.Tensor:
        """softmax(theta) over the allowed candidates of each layer, (L, 9), 0 on padded cells."""
        return torch.softmax(self.masked_theta(), dim=-1)

    def argmax_choices(self) -> list[int]:
        return [int(i) for i in self.masked_theta().argmax(dim=-1).tolist()]

    def draw(self, mode: str, batch: int, temperature: float) -> Weights:
        """Gumbel-softmax weights for one step (noise per sample in mixture, per step in sampled)."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r} (expected one of {', '.join(MODES)})")
        logits = self.masked_theta().unsqueeze(0)
        rows = batch if mode == "mixture" else 1
        perturbed = logits + gumbel_noise((rows, *logits.shape[1:]), logits.device)
        soft = torch.softmax(perturbed / temperature, dim=-1)
        if mode == "mixture":
            return Weights(soft)
        choices = [int(i) for i in perturbed[0].argmax(dim=-1).tolist()]
        picked = soft[0, torch.arange(len(choices), device=soft.device), torch.tensor(choices, device=soft.device)]
        straight = 1.0 - picked.detach() + picked
        return Weights(soft, choices, straight)

    # forward passes
    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        x = self.stem(x)
        for i, layer in enumerate(self.layers):
            if weights.choices is None:
                x = layer.forward_mixture(x, weights.soft[:, i])
            else:
                assert weights.straight is not None
                x = layer.forward_one(x, weights.choices[i], weights.straight[i])
        return self.head(x)

    def forward_fixed(self, x: torch.Tensor, choices: list[int]) -> torch.Tensor:
        """The childnet inside the supernet: one given candidate per layer, no weighting."""
        x = self.stem(x)
        for layer, c in zip(self.layers, choices, strict=True):
            x = layer.forward_one(x, c)
        return self.head(x)


def zero_init_residuals(module: nn.Module) -> None:
    """Start every residual candidate as the identity (last BatchNorm scale 0, as in Goyal et al.).

    With random paths, residual layers then do not scramble the features of the layers before
    them while the search is young; measured on the demo, this is what lets a sampled-mode
    supernet learn within a few hundred steps.
    """
    for m in module.modules():
        if isinstance(m, CandidateBlock) and m.residual:
            norms = [b for b in m.body if isinstance(b, nn.BatchNorm2d)]
            nn.init.zeros_(norms[-1].weight)


class CostTables(nn.Module):
    """The profile's latency (s) and energy (J) tables as tensors; padded cells zeroed (eq. 4)."""

    def __init__(self, latency_s: list[list[float]], energy_j: list[list[float]] | None, mask: list[list[bool]]) -> None:
        super().__init__()
        m = torch.tensor(mask, dtype=torch.float32)
        self.register_buffer("latency", torch.tensor(latency_s, dtype=torch.float32) * m, persistent=False)
        ener = torch.tensor(energy_j, dtype=torch.float32) * m if energy_j is not None else torch.zeros_like(m)
        self.register_buffer("energy", ener, persistent=False)
        self.has_energy = energy_j is not None

    def expected(self, soft: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """E[LAT], E[ENER] of soft weights (N, L, 9): per-sample sums, averaged over the batch."""
        soft = soft.float()
        lat = (soft * self.latency).sum(dim=(1, 2)).mean()
        ener = (soft * self.energy).sum(dim=(1, 2)).mean()
        return lat, ener

    def of_choices(self, choices: list[int]) -> tuple[float, float]:
        lat = sum(float(self.latency[i, c]) for i, c in enumerate(choices))
        ener = sum(float(self.energy[i, c]) for i, c in enumerate(choices))
        return lat, ener


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def temperature_at(epoch: int, start: float, decay: float, warmup: int) -> float:
    """Temperature of an epoch: start during warm-up, then start * decay^(epochs after warm-up)."""
    return start * math.pow(decay, max(0, epoch - warmup))
