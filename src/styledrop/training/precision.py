"""bf16 training on a CPU with AMX units, attention kept in fp32.

Under `torch.autocast("cpu", torch.bfloat16)` the matrix products of a pretraining step run on
the AMX tiles (a 4096 x 192 by 192 x 768 product: 7.4 ms in fp32, 1.3 ms in bf16 on this
machine's Xeon, two threads), but this torch's CPU flash attention is slower in bf16 than in
fp32 for the heads these bases use (head size 48: 51 ms against 11 ms forward and backward for a
batch of 64), which cancelled the gain (`benchmarks/cpu_autocast.py`: 1.09 of fp32's step time, 0.70 with this module). `Fp32Attention` is
diffusers' `AttnProcessor2_0` with the attention product itself computed in fp32 and cast back;
the projections around it stay under autocast. In fp32 it computes exactly what diffusers does.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention, AttnProcessor2_0

from ..errors import StyleDropError

PRECISIONS = ("fp32", "bf16")


class Fp32Attention(AttnProcessor2_0):
    """AttnProcessor2_0 whose scaled dot-product attention runs in fp32 (module docstring)."""

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None, *args, **kwargs
                 ) -> torch.Tensor:
        plain = (attention_mask is None and attn.spatial_norm is None and attn.group_norm is None
                 and attn.norm_q is None and attn.norm_k is None and not attn.norm_cross and not args and not kwargs)
        if not plain:  # a feature these bases do not use: diffusers' own processor
            return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb, *args, **kwargs)
        residual, shape = hidden_states, hidden_states.shape
        if hidden_states.ndim == 4:  # (B, C, h, w) -> (B, h*w, C)
            hidden_states = hidden_states.flatten(2).transpose(1, 2)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        query, key, value = attn.to_q(hidden_states), attn.to_k(context), attn.to_v(context)
        batch, heads = query.shape[0], attn.heads
        split = [t.view(batch, -1, heads, t.shape[-1] // heads).transpose(1, 2).float() for t in (query, key, value)]
        with torch.autocast(query.device.type, enabled=False):
            out = F.scaled_dot_product_attention(*split, dropout_p=0.0, is_causal=False)
        out = out.transpose(1, 2).reshape(batch, -1, out.shape[1] * out.shape[3]).to(query.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if len(shape) == 4:
            out = out.transpose(1, 2).reshape(shape)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


def check_precision(precision: str, device: str | torch.device) -> None:
    """Raise for a precision this build or device cannot train in."""
    if precision not in PRECISIONS:
        raise StyleDropError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "bf16" and torch.device(device).type == "cpu" and not torch.backends.mkldnn.is_available():
        raise StyleDropError("precision 'bf16' on the CPU needs a torch build with oneDNN; use precision 'fp32'")


@contextmanager
def training_precision(transformer: torch.nn.Module, precision: str, device: str | torch.device):
    """The autocast context for a training step in `precision`; bf16 sets `Fp32Attention` for its span."""
    device_type = torch.device(device).type
    if precision == "fp32":
        yield nullcontext
        return
    saved = transformer.attn_processors
    transformer.set_attn_processor(Fp32Attention())
    try:
        yield lambda: torch.autocast(device_type, torch.bfloat16)
    finally:
        transformer.set_attn_processor(saved)
