"""MaskGIT sampler: invariants, determinism, and agreement with diffusers' AmusedScheduler."""

import math

import pytest
import torch
from diffusers import AmusedScheduler

from styledrop.sampling.maskgit import decode, decode_step
from styledrop.sampling.schedules import mask_ratio

MASK = 16
V = 16


def random_logits_fn(seed=0, batch=3, seq=64):
    """Logits that depend on the current tokens, like a real model's (deterministic)."""
    weights = torch.randn(V + 1, V, generator=torch.Generator().manual_seed(seed))

    def fn(tokens, step):
        mixed = weights[tokens] + weights[tokens.roll(1, dims=1)]  # (B, N, V)
        return mixed * 2.0

    return fn


def test_never_remasks_known_tokens_and_follows_schedule():
    history = []
    steps, n = 12, 64
    tokens = decode(random_logits_fn(), batch_size=3, seq_len=n, mask_id=MASK, steps=steps,
                    generator=torch.Generator().manual_seed(0), on_step=lambda s, t: history.append(t.clone()))
    previous = torch.full((3, n), MASK)
    for step, current in enumerate(history):
        known_before = previous != MASK
        assert torch.equal(current[known_before], previous[known_before]), "a known token changed"
        masked = (current == MASK).sum(dim=1)
        before = (previous == MASK).sum(dim=1)
        assert (masked < before).all(), "each step reveals at least one token"
        if step < steps - 1:
            expected = math.floor(n * mask_ratio(torch.tensor(step + 1) / steps).item())
            expected = torch.clamp(torch.minimum(before - 1, torch.tensor(expected)), min=1)
            assert torch.equal(masked, expected)
            assert (masked >= 1).all(), "until the last step at least one token stays masked"
        previous = current
    assert (tokens != MASK).all() and tokens.max() < V


def test_initial_tokens_are_kept():
    initial = torch.full((2, 64), MASK)
    initial[:, :10] = 3
    tokens = decode(random_logits_fn(), batch_size=2, seq_len=64, mask_id=MASK, steps=8,
                    generator=torch.Generator().manual_seed(1), initial=initial)
    assert (tokens[:, :10] == 3).all() and (tokens != MASK).all()


def test_deterministic_for_a_seed_and_different_across_seeds():
    run = lambda seed: decode(random_logits_fn(), batch_size=3, seq_len=64, mask_id=MASK, steps=8,  # noqa: E731
                              generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(5), run(5))
    assert not torch.equal(run(5), run(6))


def test_per_row_generators_make_each_row_reproducible_alone():
    fn = random_logits_fn()
    seeds = [3, 4, 5]
    together = decode(fn, batch_size=3, seq_len=64, mask_id=MASK, steps=8,
                      generator=[torch.Generator().manual_seed(s) for s in seeds])
    alone = decode(fn, batch_size=1, seq_len=64, mask_id=MASK, steps=8, generator=[torch.Generator().manual_seed(4)])
    assert torch.equal(together[1:2], alone)


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_matches_diffusers_amused_scheduler_token_for_token(schedule):
    steps, temperature = 12, 2.0
    fn = random_logits_fn(seed=7)
    ours = decode(fn, batch_size=3, seq_len=64, mask_id=MASK, steps=steps, temperature=temperature,
                  schedule=schedule, generator=torch.Generator().manual_seed(11))

    scheduler = AmusedScheduler(mask_token_id=MASK, masking_schedule=schedule)
    scheduler.set_timesteps(steps, temperature=(temperature, 0))
    generator = torch.Generator().manual_seed(11)
    tokens = torch.full((3, 64), MASK)
    for i, timestep in enumerate(scheduler.timesteps):
        tokens = scheduler.step(fn(tokens, i), timestep, tokens, generator=generator).prev_sample
    assert torch.equal(ours, tokens)


def test_temperature_zero_step_keeps_the_most_confident():
    logits = torch.full((1, 4, V), -10.0)
    for pos, tok in enumerate([1, 2, 3, 4]):
        logits[0, pos, tok] = 10.0 - pos * 5  # position 0 most confident, position 3 least
    tokens = torch.full((1, 4), MASK)
    out = decode_step(logits, tokens, step=0, steps=2, mask_id=MASK, temperature=0.0,
                      generator=torch.Generator().manual_seed(0), schedule="linear")
    # linear schedule: after step 1 of 2, floor(4 * 0.5) = 2 stay masked: the two least confident
    assert out.tolist() == [[1, 2, MASK, MASK]]


def test_token_temperature_sharpens_the_draw_towards_the_argmax():
    logits = torch.randn(2, 256, V, generator=torch.Generator().manual_seed(1))
    tokens = torch.full((2, 256), MASK)

    def last_step(token_temperature):
        return decode_step(logits, tokens, step=0, steps=1, mask_id=MASK, temperature=0.0,
                           generator=torch.Generator().manual_seed(0), token_temperature=token_temperature)

    argmax = logits.argmax(-1)
    agreement = [(last_step(t) == argmax).float().mean().item() for t in (1.0, 0.5, 1e-3)]
    assert agreement[0] < agreement[1] < agreement[2] == 1.0
    plain = decode_step(logits, tokens, step=0, steps=1, mask_id=MASK, temperature=0.0,
                        generator=torch.Generator().manual_seed(0))
    assert torch.equal(plain, last_step(1.0))  # 1.0 is aMUSEd's sampler, unchanged


def test_corrector_passes_visit_every_token_once_and_redraw_it_from_the_rest():
    seen = []

    def fn(tokens, step):  # a model sure of token 7 everywhere, recording what each forward was shown
        seen.append(tokens.clone())
        return torch.full((*tokens.shape, V), -30.0).index_fill(-1, torch.tensor([7]), 30.0)

    steps, n, share = 4, 64, 0.25
    tokens = decode(fn, batch_size=2, seq_len=n, mask_id=MASK, steps=steps,
                    generator=[torch.Generator().manual_seed(s) for s in (0, 1)], refine_passes=4, refine_share=share)
    passes = seen[steps:]
    assert len(passes) == 4
    masked = torch.stack([p == MASK for p in passes])  # (passes, B, N)
    assert (masked.sum(dim=-1) == int(n * share)).all(), "each pass re-masks its share of every row"
    assert (masked.sum(dim=0) == 1).all(), "four passes of a quarter re-mask each position exactly once"
    assert (passes[0][~masked[0]] != MASK).all(), "a pass predicts from fully known context"
    assert (tokens == 7).all()


def test_corrector_passes_keep_the_given_tokens():
    sure_of_7 = lambda tokens, step: torch.full((*tokens.shape, V), -30.0).index_fill(-1, torch.tensor([7]), 30.0)  # noqa: E731
    initial = torch.full((2, 64), MASK)
    initial[:, :10] = 4
    tokens = decode(sure_of_7, batch_size=2, seq_len=64, mask_id=MASK, steps=6,
                    generator=torch.Generator().manual_seed(1), initial=initial, refine_passes=4)
    assert (tokens[:, :10] == 4).all() and (tokens[:, 10:] == 7).all()


def test_no_corrector_pass_leaves_decoding_unchanged():
    run = lambda passes: decode(random_logits_fn(), batch_size=3, seq_len=64, mask_id=MASK, steps=8,  # noqa: E731
                                generator=torch.Generator().manual_seed(2), refine_passes=passes)
    plain, refined = run(0), run(2)
    assert torch.equal(plain, decode(random_logits_fn(), batch_size=3, seq_len=64, mask_id=MASK, steps=8,
                                     generator=torch.Generator().manual_seed(2)))
    assert not torch.equal(plain, refined) and (refined != MASK).all() and refined.max() < V
