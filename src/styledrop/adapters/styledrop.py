"""StyleDrop's adapter (paper section 3.2, after Houlsby et al. 2019): a residual bottleneck.

For every transformer layer, two sites: the output of the cross-attention block (`attn2`) and
the output of the feed-forward block (`ff`). At each site the sub-layer output y becomes

    y + W_up · GELU(W_down · y + b_down) + b_up          # (B, N, D) -> (B, N, D)

before it joins the residual stream (Houlsby's placement; it leaves UVit2DModel's forward
untouched, since the adapter rides on a forward hook of the named sub-module). W_down: D x H,
truncated normal std 0.02; W_up: H x D, zeros; biases zeros; so a new adapter is the identity.

``shared=True`` (paper, round 1): one W_down and one W_up for all sites, plus per-site biases.
``shared=False`` (round 2): a W_down/W_up pair per site.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import AdapterConfig, SiteAdapter

SITE_MODULES = ("attn2", "ff")


def adapter_sites(transformer: nn.Module) -> list[str]:
    """Module names the adapter hooks: transformer_layers.{i}.attn2 and .ff, in layer order."""
    return [f"transformer_layers.{i}.{m}" for i in range(len(transformer.transformer_layers)) for m in SITE_MODULES]


class StyleDropAdapter(SiteAdapter):
    def __init__(self, config: AdapterConfig, dim: int, sites: list[str], generator: torch.Generator | None = None):
        super().__init__()
        self.config, self.sites, self.dim = config, list(sites), dim
        count, rank = len(self.sites), config.rank
        matrices = 1 if config.shared else count
        down = torch.empty(matrices, dim, rank)
        nn.init.trunc_normal_(down, std=0.02, a=-0.04, b=0.04, generator=generator)
        self.down = nn.Parameter(down)  # (M, D, H)
        self.up = nn.Parameter(torch.zeros(matrices, rank, dim))  # (M, H, D)
        self.down_bias = nn.Parameter(torch.zeros(count, rank))  # (S, H)
        self.up_bias = nn.Parameter(torch.zeros(count, dim))  # (S, D)

    def delta(self, site: int, y: torch.Tensor) -> torch.Tensor:
        """The bottleneck's contribution at `site` for sub-layer output y (B, N, D)."""
        m = 0 if self.config.shared else site
        hidden = F.gelu(y @ self.down[m].to(y.dtype) + self.down_bias[site].to(y.dtype))  # (B, N, H)
        return hidden @ self.up[m].to(y.dtype) + self.up_bias[site].to(y.dtype)  # (B, N, D)
