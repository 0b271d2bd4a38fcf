"""Masked-token training (Muse section 2.4): the inputs, with the schedule shared with the sampler,
and the loss; the adapter loop and pretraining both take their step from here."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..sampling.schedules import Schedule, mask_ratio

IGNORED = -100  # the label of a padding row, which the loss leaves out


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


def masked_token_loss(transformer, inputs: torch.Tensor, masked: torch.Tensor, target: torch.Tensor,
                      grid: tuple[int, int], states: torch.Tensor, pooled: torch.Tensor, micro: torch.Tensor,
                      *, pad_rows: bool = True) -> torch.Tensor:
    """Cross-entropy of the transformer's predictions at the masked positions.

    inputs, target (B, N) ids and masked (B, N) bool from `mask_tokens`; states (B, L, D) and pooled
    (B, D) the text rows; micro (B, 5) aMUSEd's micro-conditioning. `pad_rows=False` leaves the M
    rows unpadded (the same loss; for the benchmark that measures the padding).

    UVit2DModel's last layer is a 1x1 convolution from features to code logits, so it is applied to
    the masked positions' features alone: the same loss, without the (B, V, h, w) logits of the
    positions the loss does not read (7-10% of a pretraining step on this CPU). The M masked rows
    are padded to a multiple of the row length N with rows that the loss ignores, so the head's
    matrix products see at most B shapes: under bf16 autocast on a CPU, oneDNN builds and caches a
    kernel for every new shape, and a new M at every step cost a pretraining step 16-24% more CPU
    time and a run 4 GB more memory (`benchmarks/cpu_autocast.py --long 400 --threads 2`).
    """
    head = getattr(getattr(transformer, "mlm_layer", None), "conv2", None)
    gather = isinstance(head, nn.Conv2d) and head.kernel_size == (1, 1)  # else another head: every logit
    if gather:
        transformer.mlm_layer.conv2 = nn.Identity()
    try:
        out = transformer(inputs.view(-1, *grid), encoder_hidden_states=states, pooled_text_emb=pooled,
                          micro_conds=micro)  # (B, C, h, w): the head's input, or (B, V, h, w) logits
    finally:
        if gather:
            transformer.mlm_layer.conv2 = head
    out, labels = out.flatten(2).transpose(1, 2)[masked], target[masked]  # (M, C) or (M, V); (M,)
    if gather:  # M rows rounded up to a multiple of N: see the docstring
        pad = -len(labels) % masked.shape[1] if pad_rows else 0
        out, labels = F.pad(out, (0, 0, 0, pad)), F.pad(labels, (0, pad), value=IGNORED)
        out = F.linear(out, head.weight.flatten(1), head.bias)
    return F.cross_entropy(out.float(), labels, ignore_index=IGNORED)
