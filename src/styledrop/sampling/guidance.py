"""Guidance: how the logits of several conditionings combine into one (B, N, V) tensor.

- plain classifier-free guidance, in aMUSEd's form: l = u + s * (c - u);
- StyleDrop's two scales (paper Eq. 4), with G_ft = base + adapter and G_base = base alone:
      l = G_ft(t) + lambda_A * (G_ft(t) - G_base(t)) + lambda_B * (G_base(t) - G_base(n))
  lambda_A (style_scale) pulls toward the adapter's style, lambda_B (content_scale) toward the
  prompt; with lambda_A = 0 and no adapter it is plain CFG with s = lambda_B + 1;
- style + subject (paper Eqs. 5-6): l = (1 - gamma) * l_style + gamma * l_subject.
"""

from __future__ import annotations

import torch


def cfg(cond: torch.Tensor, uncond: torch.Tensor, scale: float) -> torch.Tensor:
    return uncond + scale * (cond - uncond)


def two_scale(tuned: torch.Tensor, base: torch.Tensor, negative: torch.Tensor,
              style_scale: float, content_scale: float) -> torch.Tensor:
    """Paper Eq. 4: tuned = G_ft(t), base = G_base(t), negative = G_base(n)."""
    return tuned + style_scale * (tuned - base) + content_scale * (base - negative)


def mix(style: torch.Tensor, subject: torch.Tensor, gamma: float) -> torch.Tensor:
    """Paper Eqs. 5-6: blend the style and subject adapters' guided logits."""
    return (1 - gamma) * style + gamma * subject
