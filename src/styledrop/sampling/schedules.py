"""The masking schedule, written once and shared by training and sampling.

`mask_ratio(t)` is the fraction of tokens hidden behind [MASK] at progress t in [0, 1]:
t = 0 is "everything masked", t = 1 is "nothing masked". Training draws t ~ U(0, 1) and masks
`mask_ratio(t)` of the tokens (Muse / MaskGIT: r = cos(pi/2 * u)); the sampler, after step k of K,
leaves `mask_ratio((k + 1) / K)` of the tokens masked.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

Schedule = Literal["cosine", "linear"]
SCHEDULES: tuple[str, ...] = ("cosine", "linear")


def mask_ratio(t: torch.Tensor, schedule: Schedule = "cosine") -> torch.Tensor:
    """Fraction of tokens masked at progress t (tensor in [0, 1], any shape)."""
    if schedule == "cosine":
        return torch.cos(t * math.pi / 2)
    if schedule == "linear":
        return 1 - t
    raise ValueError(f"unknown masking schedule {schedule!r}; choose one of {SCHEDULES}")
