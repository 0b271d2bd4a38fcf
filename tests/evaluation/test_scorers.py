"""The scoring API on a tiny random scorer: shapes, ranges, cosine bounds, image handling."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image, ImageOps


def test_text_scores_are_cosines_one_per_image(scorers, random_images):
    images = random_images(4)
    scores = scorers.text_scores(images, ["a cow", "a dog", "a cow in [V] style", "a hot dog"])
    assert len(scores) == 4
    assert all(-1.0 <= s <= 1.0 for s in scores)


def test_one_prompt_serves_every_image_and_matches_pairwise(scorers, random_images):
    images = random_images(3)
    broadcast = scorers.text_scores(images, ["a cow"])
    pairwise = scorers.text_scores(images, ["a cow"] * 3)
    assert broadcast == pytest.approx(pairwise, abs=1e-6)
    single = [scorers.text_scores([im], ["a cow"])[0] for im in images]
    assert broadcast == pytest.approx(single, abs=1e-5)  # batching does not change a score


def test_text_scores_refuse_mismatched_counts(scorers, random_images):
    with pytest.raises(ValueError, match="2 prompts for 3 images"):
        scorers.text_scores(random_images(3), ["a cow", "a dog"])


def test_style_score_of_the_reference_itself_is_one(scorers, random_images):
    images = random_images(3, seed=1)
    scores = scorers.style_scores(images, images[1])
    assert len(scores) == 3
    assert scores[1] == pytest.approx(1.0, abs=1e-5)
    assert all(-1.0 <= s <= 1.0 for s in scores)


def test_classify_style_gives_a_known_style_and_a_probability(scorers, random_images):
    result = scorers.classify_style(random_images(5))
    assert len(result) == 5
    for style, prob in result:
        assert style in scorers.labels.style_ids
        assert 0.0 <= prob <= 1.0
        assert prob >= 1 / len(scorers.labels.styles) - 1e-6  # the argmax of a softmax


def test_classify_content_ranks_k_captions(scorers, random_images):
    result = scorers.classify_content(random_images(2), k=3)
    assert [len(r) for r in result] == [3, 3]
    for ranked in result:
        probs = [p for _, p in ranked]
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) <= 1.0 + 1e-6
        assert {c for c, _ in ranked} <= set(scorers.labels.captions)
    # k above the vocabulary size gives the whole vocabulary, summing to one
    everything = scorers.classify_content(random_images(1), k=50)[0]
    assert len(everything) == len(scorers.labels.contents)
    assert math.isclose(sum(p for _, p in everything), 1.0, abs_tol=1e-5)
    with pytest.raises(ValueError, match="k must be"):
        scorers.classify_content(random_images(1), k=0)


def test_any_mode_and_size_is_scored_like_its_rgb_square(scorers, random_images):
    rgb = random_images(1, size=16)[0]
    wide = Image.new("RGB", (32, 16), "white")
    wide.paste(rgb.resize((16, 16)), (8, 0))  # centre crop recovers it
    rgba = rgb.convert("RGBA")
    gray = rgb.convert("L")
    x = scorers.to_tensor([rgb, wide, rgba, gray])
    size = scorers.image_size
    assert x.shape == (4, 3, size, size)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert torch.allclose(x[0], x[1], atol=1e-6)
    assert torch.allclose(x[0], x[2], atol=1e-6)  # opaque RGBA: the same picture
    transparent = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    assert torch.allclose(scorers.to_tensor([transparent]), torch.ones(1, 3, size, size))


def test_text_encoder_is_loaded_only_when_text_is_scored(scorers, stub_encoder, random_images):
    scorers.style_scores(random_images(2), random_images(1)[0])
    scorers.classify_content(random_images(2))
    assert stub_encoder.calls == 0
    scorers.text_scores(random_images(2), ["a cow"])
    assert stub_encoder.calls == 1


def test_every_verdict_is_the_same_for_a_mirrored_image(scorers, random_images):
    images = random_images(3)
    mirrored = [ImageOps.mirror(im) for im in images]
    a, b = scorers.outputs(images), scorers.outputs(mirrored)
    assert torch.allclose(a.embedding, b.embedding, atol=1e-5)
    assert torch.allclose(a.content_logits, b.content_logits, atol=1e-5)
    assert torch.allclose(a.style_logits, b.style_logits, atol=1e-5)
    x = scorers.to_tensor(images)
    plain = scorers.model.eval()(x)  # one reading alone is not mirror-invariant: averaging is what makes it so
    assert not torch.allclose(plain.content_logits.log_softmax(1), a.content_logits, atol=1e-5)
