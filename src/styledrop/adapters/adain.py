"""AdaIN attention adapter (after StyleAligned, Hertz et al. 2023): learned statistics for q and k.

In every transformer layer's self-attention (`transformer_layers.{i}.attn1`), the generated image's
queries and keys (the outputs of `to_q` and `to_k`, (B, N, D)) are normalised per channel over the
image's N tokens and given learned statistics, one scale s, shift m and mix g per channel, layer
and projection:

    norm(x) = (x - mean_N(x)) / sqrt(var_N(x) + eps)           # (B, N, D), per row and channel
    x'      = x + g * (norm(x) * s + m - x)                     # x = q or k; s, m, g: (D,)

Why the mix g. AdaIN proper is x' = norm(x) * s + m: the learned statistics replace the image's own.
That equals x only where s = std(x) and m = mean(x), which change with every image and every
decoding step, so no constant (s, m) makes a new adapter the identity, and an init from the
reference's statistics would be the identity on the reference alone. Rearranged, the line above is

    x' = norm(x) * ((1 - g) std(x) + g s) + ((1 - g) mean(x) + g m)

AdaIN toward statistics interpolated per channel between the image's own (g = 0) and the learned
ones (g = 1). g starts at 0 and x' is computed as written first, so a new adapter returns x bit for
bit (tests/test_adapters.py); s starts at 1 and m at 0, the normalised feature's own statistics. At
the first step only g has a gradient (as only LoRA's B has), from the second s and m learn too.

The per-row gate scales the whole change (x + gate_b * g * ...), so two-scale guidance runs this
adapter's rows and the base's in one forward pass, as for the other kinds.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import AdapterConfig, SiteAdapter

EPS = 1e-5  # StyleAligned's
PROJECTIONS = ("to_q", "to_k")


def channel_stats(x: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std over the tokens of x (B, N, D), per row and channel: two (B, 1, D)."""
    return x.mean(dim=-2, keepdim=True), (x.var(dim=-2, keepdim=True, unbiased=False) + eps).sqrt()


def normalise(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """x (B, N, D) with zero mean and unit std over its tokens, per row and channel."""
    mean, std = channel_stats(x, eps)
    return (x - mean) / std


def adain(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """x (B, N, D) re-scaled to per-channel statistics mean, std (broadcast to (B, 1, D))."""
    return normalise(x) * std + mean


def adain_sites(transformer: nn.Module) -> list[str]:
    """transformer_layers.{i}.attn1.to_q and .to_k, in layer order."""
    return [f"transformer_layers.{i}.attn1.{p}" for i in range(len(transformer.transformer_layers)) for p in PROJECTIONS]


class AdaInAdapter(SiteAdapter):
    def __init__(self, config: AdapterConfig, dim: int, sites: list[str]):
        super().__init__()
        self.config, self.sites = config, list(sites)
        count = len(self.sites)
        self.scale = nn.Parameter(torch.ones(count, dim))  # (S, D) learned std
        self.shift = nn.Parameter(torch.zeros(count, dim))  # (S, D) learned mean
        self.mix = nn.Parameter(torch.zeros(count, dim))  # (S, D) g: 0 = the image's own statistics

    def delta(self, site: int, x: torch.Tensor) -> torch.Tensor:
        """g * (norm(x) * s + m - x) at `site` for projected queries or keys x (B, N, D)."""
        scale, shift, mix = (p[site].to(x.dtype) for p in (self.scale, self.shift, self.mix))
        return mix * (normalise(x) * scale + shift - x)
