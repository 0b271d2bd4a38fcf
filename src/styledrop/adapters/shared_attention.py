"""Training-free shared attention (StyleAligned, Hertz et al. 2023) on a masked transformer.

The style image's tokens run as the batch's last row (`ReferenceRow`: fully known, with a caption
like the training captions; the pipeline appends it and never decodes it). In every transformer
layer's self-attention (`transformer_layers.{i}.attn1`), each row whose gate is on also attends to
the reference row's keys and values, its queries and keys first re-scaled to the reference's
per-channel statistics (AdaIN, `adain.py`), as StyleAligned does:

    q^ = AdaIN(q, q_ref)   k^ = AdaIN(k, k_ref)                          # (B, N, D)
    shared = to_out(softmax(q^ [k^; k_ref]^T / sqrt(d)) [v; v_ref])      # (B, N, D), keys (B, 2N, D)
    out    = own + scale * (shared - own)                                # own: the attention as it was

`scale` (`--style-image-scale`) weighs the shared attention: 0 leaves the attention as it was, bit
for bit, so Eq. 4's "adapter on" term is the base's and the tokens are plain generation's
(tests/test_shared_attention.py); 1 is StyleAligned's; between, a blend of the two; above 1, an
extrapolation. The reference row and the rows whose gate is off attend as before, so
Eq. 4 guidance runs the shared rows as its "adapter on" term and the base's in one forward pass.
No parameters: nothing to train, no file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .adain import adain, channel_stats
from .base import Adapter, ReferenceRow

SITE = "attn1"


def shared_sites(transformer: nn.Module) -> list[str]:
    """transformer_layers.{i}.attn1, in layer order."""
    return [f"transformer_layers.{i}.{SITE}" for i in range(len(transformer.transformer_layers))]


def check_plain_attention(attn: nn.Module, name: str) -> None:
    """Shared attention recomputes q, k, v and the output itself; refuse attention it would not reproduce."""
    extras = {"norm_q": attn.norm_q, "spatial_norm": attn.spatial_norm, "group_norm": attn.group_norm,
              "residual_connection": attn.residual_connection, "rescale_output_factor": attn.rescale_output_factor != 1}
    used = [key for key, value in extras.items() if value]
    if used or attn.is_cross_attention:
        raise ValueError(f"{name}: shared attention supports plain self-attention only (this one has {used or 'cross-attention'})")


def shared_attention(attn: nn.Module, hidden: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """The rows `hidden` (B, N, D) attending to themselves and to `reference` (1, N, D), after AdaIN."""
    b, heads = hidden.shape[0], attn.heads
    q, k, v = attn.to_q(hidden), attn.to_k(hidden), attn.to_v(hidden)  # (B, N, D)
    q_ref, k_ref, v_ref = attn.to_q(reference), attn.to_k(reference), attn.to_v(reference)  # (1, N, D)
    q, k = adain(q, *channel_stats(q_ref)), adain(k, *channel_stats(k_ref))
    keys = torch.cat([k, k_ref.expand(b, -1, -1)], dim=1)  # (B, 2N, D)
    values = torch.cat([v, v_ref.expand(b, -1, -1)], dim=1)

    def split(x: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, heads, L, D / heads)
        return x.view(b, x.shape[1], heads, -1).transpose(1, 2)

    out = F.scaled_dot_product_attention(split(q), split(keys), split(values))  # (B, heads, N, D / heads)
    out = out.transpose(1, 2).reshape(b, hidden.shape[1], -1).to(q.dtype)  # (B, N, D)
    return attn.to_out[1](attn.to_out[0](out))  # projection, dropout


class SharedAttention(Adapter):
    """Shared attention to `reference` in every transformer layer, weighted by `scale`."""

    def __init__(self, reference: ReferenceRow, scale: float = 1.0):
        super().__init__()
        self.reference, self.scale = reference, float(scale)
        self._handles: list = []

    def attach(self, transformer: nn.Module) -> None:
        if self._handles:
            raise RuntimeError("shared attention is already attached")
        for name in shared_sites(transformer):
            attn = transformer.get_submodule(name)
            check_plain_attention(attn, name)
            self._handles.append(attn.register_forward_hook(self._share))

    def _share(self, attn: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        if self.gate is None:
            raise RuntimeError("shared attention needs a gate that leaves the reference row (the last) off; "
                               "run it through StyleDropPipeline")
        hidden = args[0]  # (R, N, D), the reference last

        def delta(rows: torch.Tensor) -> torch.Tensor:
            return self.scale * (shared_attention(attn, hidden[rows], hidden[-1:]) - output[rows])

        return self.add_gated(output, delta)

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def adapter_state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        if state:
            raise ValueError("shared attention has no tensors to load")

    def trainable_parameters(self) -> list[nn.Parameter]:
        return []
