"""Guidance: Eq. 4 in one batched forward, lambda_A = 0 vs plain CFG, style + subject mixing,
and our whole pipeline against diffusers' AmusedPipeline."""

import torch

from styledrop.adapters.base import AdapterConfig
from styledrop.adapters.factory import new_adapter
from styledrop.captions import strip_style
from styledrop.pipeline import SampleConfig, StyleDropPipeline
from styledrop.sampling.guidance import cfg, mix, two_scale


def trained_adapter(base, seed=0, rank=4):
    adapter = new_adapter(AdapterConfig(rank=rank), base.transformer, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for p in adapter.trainable_parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(seed + p.numel())) * 0.5)
    return adapter


def capture_logits(pipe, prompts, config, tokens):
    """The combined logits that the pipeline hands the sampler for `tokens` (B, N)."""
    return pipe.guided_logits(prompts, config)(tokens, 0)


def partial_tokens(base, batch, seed=0):
    h, w = base.grid
    tokens = torch.randint(0, base.codebook_size, (batch, h * w), generator=torch.Generator().manual_seed(seed))
    tokens[:, ::2] = base.mask_id
    return tokens


def test_batched_three_terms_equal_three_separate_forwards(tiny_base):
    adapter = trained_adapter(tiny_base)
    pipe = StyleDropPipeline(tiny_base, style=adapter)
    config = SampleConfig(style_scale=1.5, content_scale=5.0, negative_prompt="blurry")
    prompts = ["a cow in [V] style", "a piano in [V] style"]
    tokens = partial_tokens(tiny_base, 2)
    batched = capture_logits(pipe, prompts, config, tokens)

    encoder = tiny_base.text_encoder
    tuned = pipe.forward_rows(tokens, encoder.encode(prompts), {})  # gate None: adapter on
    adapter.detach()
    base = pipe.forward_rows(tokens, encoder.encode(prompts), {})
    negative = pipe.forward_rows(tokens, encoder.encode(["blurry"] * 2), {})
    expected = tuned + 1.5 * (tuned - base) + 5.0 * (base - negative)
    torch.testing.assert_close(batched, expected, rtol=1e-4, atol=1e-4)


def test_style_scale_zero_is_plain_cfg(tiny_base):
    adapter = new_adapter(AdapterConfig(), tiny_base.transformer)  # identity: G_ft == G_base
    prompts = ["a cow in [V] style"]
    tokens = partial_tokens(tiny_base, 1)
    two = capture_logits(StyleDropPipeline(tiny_base, style=adapter), prompts,
                         SampleConfig(style_scale=0.0, content_scale=4.0), tokens)
    adapter.detach()
    plain = capture_logits(StyleDropPipeline(tiny_base), prompts, SampleConfig(content_scale=4.0), tokens)
    torch.testing.assert_close(two, plain, rtol=1e-4, atol=1e-4)

    c, u, f = torch.randn(3, 2, 5, 7).unbind()
    torch.testing.assert_close(two_scale(c, c, u, 0.0, 3.0), cfg(c, u, 4.0))
    # with a real adapter, lambda_A = 0 keeps the tuned prediction and the base's text direction only
    torch.testing.assert_close(two_scale(f, c, u, 0.0, 3.0), f + 3.0 * (c - u))


def test_style_only_term_adds_the_style_alone_from_its_share_of_the_steps_on(tiny_base):
    pipe = StyleDropPipeline(tiny_base)
    prompts = ["a cow in noto style", "a piano"]  # the second names no style: no term
    tokens = partial_tokens(tiny_base, 2)
    config = SampleConfig(content_scale=1.0, negative_prompt="blurry", style_only_scale=2.0, style_only_from=0.5,
                          steps=10)
    rule = pipe.guided_logits(prompts, config)
    encoder = tiny_base.text_encoder
    prompt = pipe.forward_rows(tokens, encoder.encode(prompts), {})
    negative = pipe.forward_rows(tokens, encoder.encode(["blurry"] * 2), {})
    alone = pipe.forward_rows(tokens, encoder.encode(["An emoji in noto style", "blurry"]), {})
    plain = cfg(prompt, negative, 2.0)
    torch.testing.assert_close(rule(tokens, 4), plain, rtol=1e-4, atol=1e-4)  # before half the steps
    late = rule(tokens, 5)
    torch.testing.assert_close(late, plain + 2.0 * (alone - negative), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(late[1], plain[1], rtol=1e-4, atol=1e-4)
    assert not torch.allclose(late[0], plain[0], atol=1e-3)


def test_style_only_term_with_a_style_adapter_reads_the_adapters_style_alone(tiny_base):
    adapter = trained_adapter(tiny_base)
    pipe = StyleDropPipeline(tiny_base, style=adapter)
    prompts = ["a cow in [V] style"]
    tokens = partial_tokens(tiny_base, 1)
    config = SampleConfig(style_scale=0.5, content_scale=1.0, style_only_scale=1.5)
    batched = capture_logits(pipe, prompts, config, tokens)
    encoder = tiny_base.text_encoder
    tuned = pipe.forward_rows(tokens, encoder.encode(prompts), {})  # gate None: adapter on
    alone = pipe.forward_rows(tokens, encoder.encode(["An emoji in [V] style"]), {})
    tuned_negative = pipe.forward_rows(tokens, encoder.encode([""]), {})
    adapter.detach()
    base = pipe.forward_rows(tokens, encoder.encode(prompts), {})
    negative = pipe.forward_rows(tokens, encoder.encode([""]), {})
    expected = two_scale(tuned, base, negative, 0.5, 1.0) + 1.5 * (alone - tuned_negative)
    torch.testing.assert_close(batched, expected, rtol=1e-4, atol=1e-4)


def test_style_plus_subject_mixes_the_two_guided_logits(tiny_base):
    style = trained_adapter(tiny_base, seed=1)
    subject = trained_adapter(tiny_base, seed=2)
    prompts = ["a cow in [V] style"]
    tokens = partial_tokens(tiny_base, 1)
    both = StyleDropPipeline(tiny_base, style=style, subject=subject, style_descriptor="[V]")
    at = lambda g: capture_logits(both, prompts, SampleConfig(subject_weight=g), tokens)  # noqa: E731
    torch.testing.assert_close(at(0.6), mix(at(0.0), at(1.0), 0.6), rtol=1e-4, atol=1e-4)

    subject.detach()
    style_only = capture_logits(StyleDropPipeline(tiny_base, style=style), prompts, SampleConfig(), tokens)
    torch.testing.assert_close(at(0.0), style_only, rtol=1e-4, atol=1e-4)


def test_strip_style():
    assert strip_style("A cat in [V] style", "[V]") == "A cat"
    assert strip_style("A cat, [V]", "[V]") == "A cat,"
    assert strip_style("A cat", "") == "A cat"


def test_pipeline_matches_diffusers_amused_pipeline_token_for_token(tiny_base, tiny_base_dir):
    from diffusers import AmusedPipeline

    theirs_pipe = AmusedPipeline.from_pretrained(tiny_base_dir)
    theirs_pipe.set_progress_bar_config(disable=True)
    ours_pipe = StyleDropPipeline(tiny_base)
    for seed, prompt in [(0, "a cow"), (3, "a red piano")]:
        theirs = theirs_pipe(prompt, num_inference_steps=8, guidance_scale=6.0, generator=torch.Generator().manual_seed(seed),
                             output_type="latent", temperature=(4.5, 0)).images
        ours = ours_pipe.sample_tokens([prompt], [seed], SampleConfig(steps=8, content_scale=5.0, temperature=4.5))
        assert torch.equal(ours, theirs), f"seed {seed}"


def test_decode_with_a_callers_rule_is_sample_tokens_when_the_rule_is_the_pipelines(tiny_base):
    pipe = StyleDropPipeline(tiny_base)
    config = SampleConfig(steps=4, content_scale=2.0)
    prompts = ["a cow", "a piano"]
    own = pipe.sample_tokens(prompts, [3, 4], config)
    rule = pipe.guided_logits(prompts, config)
    assert torch.equal(pipe.decode_with(rule, [3, 4], config), own)
    # another rule gives other tokens: the sampler really draws from the caller's logits
    flipped = pipe.decode_with(lambda tokens, step: -rule(tokens, step), [3, 4], config)
    assert flipped.shape == own.shape and not torch.equal(flipped, own)


def test_corrector_passes_run_under_the_pipelines_guidance_and_advance_the_progress(tiny_base):
    pipe = StyleDropPipeline(tiny_base)
    config = SampleConfig(steps=4, content_scale=2.0, refine_passes=3, refine_share=0.5)
    rule = pipe.guided_logits(["a cow"], config)
    shown = []
    counting = lambda tokens, step: (shown.append((tokens.clone(), step)), rule(tokens, step))[1]  # noqa: E731

    class Bar:
        n = 0

        def update(self, k):
            self.n += k

    bar = Bar()
    refined = pipe.decode_with(counting, [3], config, bar)
    assert bar.n == config.forward_passes == 7 and len(shown) == 7
    grid = tiny_base.grid[0] * tiny_base.grid[1]
    for tokens, step in shown[4:]:  # the passes: half of the grid masked, at the last step's guidance
        assert step == 3 and (tokens == tiny_base.mask_id).sum() == grid // 2
    plain = pipe.sample_tokens(["a cow"], [3], SampleConfig(steps=4, content_scale=2.0))
    assert refined.shape == plain.shape and (refined != tiny_base.mask_id).all()
