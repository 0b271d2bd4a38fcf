"""bf16 training with fp32 attention: the same function in fp32, a close loss in bf16, nothing left set."""

import copy

import pytest
import torch

from styledrop.errors import StyleDropError
from styledrop.training.masking import mask_tokens, masked_token_loss
from styledrop.training.precision import Fp32Attention, check_precision, training_precision


def loss_args(base, rows=3):
    h, w = base.grid
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(base.mask_id, (rows, h * w), generator=generator)
    inputs, masked = mask_tokens(target, base.mask_id, generator)
    text = base.text_encoder.encode(["A cow", "", "A dog in [V] style"][:rows])
    return inputs, masked, target, (h, w), text.states, text.pooled, base.micro_conds(rows)


def test_fp32_attention_computes_what_diffusers_does(tiny_base):
    transformer = copy.deepcopy(tiny_base.transformer).eval()
    args = loss_args(tiny_base)
    with torch.no_grad():
        diffusers_loss = masked_token_loss(transformer, *args)
        transformer.set_attn_processor(Fp32Attention())
        ours = masked_token_loss(transformer, *args)
    assert torch.allclose(diffusers_loss, ours, atol=1e-6)


def test_bf16_step_is_close_to_fp32_and_leaves_the_processors_as_they_were(tiny_base):
    transformer = copy.deepcopy(tiny_base.transformer).eval().requires_grad_(True)
    before = {name: type(p) for name, p in transformer.attn_processors.items()}
    args = loss_args(tiny_base)
    losses, grads = {}, {}
    for precision in ("fp32", "bf16"):
        with training_precision(transformer, precision, "cpu") as autocast:
            if precision == "bf16":
                assert all(isinstance(p, Fp32Attention) for p in transformer.attn_processors.values())
            with autocast():
                loss = masked_token_loss(transformer, *args)
        loss.backward()
        losses[precision] = loss.item()
        grads[precision] = torch.cat([p.grad.flatten() for p in transformer.parameters() if p.grad is not None])
        transformer.zero_grad(set_to_none=True)
    assert {name: type(p) for name, p in transformer.attn_processors.items()} == before
    assert abs(losses["bf16"] - losses["fp32"]) < 0.02 * losses["fp32"]
    assert torch.isfinite(grads["bf16"]).all()
    cosine = torch.nn.functional.cosine_similarity(grads["bf16"], grads["fp32"], dim=0)
    assert cosine > 0.95


def test_an_unknown_precision_is_refused_by_name():
    with pytest.raises(StyleDropError, match="'fp16' is not one of fp32, bf16"):
        check_precision("fp16", "cpu")
