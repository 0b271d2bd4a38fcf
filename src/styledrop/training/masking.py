"""Masked-token training (Muse section 2.4): the inputs, with the schedule shared with the sampler,
and the loss; the adapter loop and pretraining both take their step from here."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

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


def masked_token_loss(transformer, inputs: torch.Tensor, masked: torch.Tensor, target: torch.Tensor,
                      grid: tuple[int, int], states: torch.Tensor, pooled: torch.Tensor, micro: torch.Tensor
                      ) -> torch.Tensor:
    """Cross-entropy of the transformer's predictions at the masked positions.

    inputs, target (B, N) ids and masked (B, N) bool from `mask_tokens`; states (B, L, D) and pooled
    (B, D) the text rows; micro (B, 5) aMUSEd's micro-conditioning.

    UVit2DModel's last layer is a 1x1 convolution from features to code logits, so it is applied to
    the masked positions' features alone: the same loss, without the (B, V, h, w) logits of the
    positions the loss does not read (7-10% of a pretraining step on this CPU).
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
    out = out.flatten(2).transpose(1, 2)[masked]  # (M, C) or (M, V)
    logits = F.linear(out, head.weight.flatten(1), head.bias) if gather else out
    return F.cross_entropy(logits.float(), target[masked])
