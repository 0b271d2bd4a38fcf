"""Shared attention to a style image: StyleAligned's formula, gated rows, and scale 0 = plain generation."""

import math

import torch

from styledrop.adapters.adain import channel_stats
from styledrop.adapters.base import ReferenceRow
from styledrop.adapters.gates import gated
from styledrop.adapters.shared_attention import SharedAttention, shared_attention
from styledrop.pipeline import SampleConfig, StyleDropPipeline


def reference(base, seed=0):
    h, w = base.grid
    tokens = torch.randint(0, base.codebook_size, (h * w,), generator=torch.Generator().manual_seed(seed))
    return ReferenceRow(tokens, "A watermelon in [V] style")


def by_hand(attn, hidden, ref):
    """StyleAligned's shared attention written out: AdaIN of q and k to the reference's, one softmax
    over the row's own keys and the reference's, per head."""
    def stats_like(x, y):
        (mx, sx), (my, sy) = channel_stats(x), channel_stats(y)
        return (x - mx) / sx * sy + my

    q, k, v = attn.to_q(hidden), attn.to_k(hidden), attn.to_v(hidden)
    q_r, k_r, v_r = attn.to_q(ref), attn.to_k(ref), attn.to_v(ref)
    q, k = stats_like(q, q_r), stats_like(k, k_r)
    rows, n, d = q.shape
    heads, width = attn.heads, d // attn.heads
    out = torch.empty_like(q)
    for b in range(rows):
        for head in range(heads):
            cols = slice(head * width, (head + 1) * width)
            keys = torch.cat([k[b, :, cols], k_r[0, :, cols]])  # (2N, d)
            values = torch.cat([v[b, :, cols], v_r[0, :, cols]])
            weights = (q[b, :, cols] @ keys.T / math.sqrt(width)).softmax(dim=-1)  # (N, 2N)
            out[b, :, cols] = weights @ values
    return attn.to_out[0](out)


def test_shared_attention_is_stylealigneds_formula(tiny_base):
    attn = tiny_base.transformer.transformer_layers[0].attn1
    g = torch.Generator().manual_seed(0)
    d = tiny_base.transformer.config.hidden_size
    hidden, ref = torch.randn(2, 16, d, generator=g), torch.randn(1, 16, d, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(shared_attention(attn, hidden, ref), by_hand(attn, hidden, ref), rtol=1e-5, atol=1e-5)


def test_only_gated_rows_share_weighted_by_the_scale(tiny_base):
    transformer = tiny_base.transformer
    attn = transformer.transformer_layers[1].attn1
    seen = []
    h, w = tiny_base.grid
    ids = torch.randint(0, tiny_base.mask_id + 1, (4, h, w), generator=torch.Generator().manual_seed(1))
    text = tiny_base.text_encoder.encode(["a cow", "a piano", "a cow", "A watermelon in [V] style"])
    for scale in (1.0, 0.5):
        shared = SharedAttention(reference(tiny_base), scale)
        shared.attach(transformer)
        handle = attn.register_forward_hook(lambda _m, args, out: seen.append((args[0], out)))  # after ours
        with torch.no_grad(), gated({shared: torch.tensor([1.0, 1.0, 0.0, 0.0])}):  # the reference last, off
            transformer(ids, text.states, text.pooled, tiny_base.micro_conds(4))
        handle.remove()
        shared.detach()
        hidden, out = seen.pop()
        with torch.no_grad():
            own = attn.processor(attn, hidden)  # the attention as it was, every row
            mixed = own[:2] + scale * (shared_attention(attn, hidden[:2], hidden[3:]) - own[:2])
        torch.testing.assert_close(out[2:], own[2:], rtol=0, atol=0)  # gate off and the reference: untouched
        torch.testing.assert_close(out[:2], mixed, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(out[:2], own[:2], atol=1e-3)


def test_scale_zero_draws_the_tokens_of_plain_generation(tiny_base):
    prompts, seeds = ["a cow in [V] style", "a red piano in [V] style"], [3, 4]
    config = SampleConfig(steps=6, content_scale=3.0, style_scale=1.0)
    plain = StyleDropPipeline(tiny_base).sample_tokens(prompts, seeds, config)
    drawn = {}
    for scale in (0.0, 1.0):
        shared = SharedAttention(reference(tiny_base), scale)
        shared.attach(tiny_base.transformer)
        drawn[scale] = StyleDropPipeline(tiny_base, style=shared).sample_tokens(prompts, seeds, config)
        shared.detach()
    assert torch.equal(drawn[0.0], plain)
    assert not torch.equal(drawn[1.0], plain)
