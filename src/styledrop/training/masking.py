"""Masked-token training inputs (Muse section 2.4), using the schedule shared with the sampler."""

from __future__ import annotations

import torch

from ..sampling.schedules import Schedule, mask_ratio


def mask_tokens(ids: torch.Tensor, mask_id: int, generator: torch.Generator,
                schedule: Schedule = "cosine") -> tuple[torch.Tensor, torch.Tensor]:
    """Hide a scheduled fraction of each row: ids (B, N) -> (inputs (B, N), masked (B, N) bool).

    t ~ U(0, 1) per row, and round(N * mask_ratio(t)) positions (at least one) chosen uniformly
    at random become [MASK]. The loss is taken on the masked positions only.
    """
    batch, length = ids.shape
    t = torch.rand(batch, generator=generator)  # (B,)
    count = (length * mask_ratio(t, schedule)).round().clamp(min=1).long()  # (B,)
    order = torch.rand(batch, length, generator=generator).argsort(dim=-1).argsort(dim=-1)  # random ranks
    masked = (order < count[:, None]).to(ids.device)
    return torch.where(masked, mask_id, ids), masked
