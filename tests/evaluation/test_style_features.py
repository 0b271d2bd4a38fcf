"""Content-free style features and their classifier: position-free, finite, learnable, saved
and loaded safely, and combined with the CNN's style head by `Scorers` (style_experts.py)."""

from __future__ import annotations

import pytest
import torch

from styledrop.errors import StyleDropError
from styledrop.evaluation.scorers import Scorers
from styledrop.evaluation.style_experts import combine_style_logits
from styledrop.evaluation.style_features import (
    FEATURES,
    StyleFeatureClassifier,
    fit_style_features,
    gradient_histograms,
    load_style_classifier,
    save_style_classifier,
    style_features,
)


def drawings(style: str, count: int, generator: torch.Generator) -> torch.Tensor:
    """(count, 3, 32, 32) random rectangles on white: flat fills, or the same with dark outlines."""
    out = torch.ones(count, 3, 32, 32)
    for i in range(count):
        top, left = torch.randint(2, 12, (2,), generator=generator).tolist()
        h, w = torch.randint(10, 18, (2,), generator=generator).tolist()
        colour = torch.rand(3, 1, 1, generator=generator) * 0.5 + 0.45
        out[i, :, top:top + h, left:left + w] = colour
        if style == "outlined":
            out[i, :, top:top + h, left:left + w] = 0.1
            out[i, :, top + 2:top + h - 2, left + 2:left + w - 2] = colour
    return out


def test_features_ignore_where_the_drawing_sits_and_stay_finite():
    x = drawings("outlined", 3, torch.Generator().manual_seed(0))
    f = style_features(x)
    assert f.shape == (3, FEATURES) and torch.isfinite(f).all()
    assert torch.allclose(style_features(x.flip(-1)), f, atol=1e-5)
    assert torch.allclose(style_features(x.transpose(-1, -2)), f, atol=1e-5)
    assert torch.isfinite(style_features(torch.ones(1, 3, 32, 32))).all()  # a blank page


def test_a_64px_image_is_read_at_32px_and_its_gradients_also_at_64px():
    x = drawings("flat", 2, torch.Generator().manual_seed(1))
    big = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    fine = gradient_histograms(big)  # the last columns: what only 64 px shows
    assert torch.allclose(style_features(big)[:, :-fine.shape[1]], style_features(x)[:, :-fine.shape[1]], atol=1e-5)
    assert torch.allclose(style_features(big)[:, -fine.shape[1]:], fine, atol=1e-6)


def test_gradient_histograms_tell_flat_fills_from_gradients():
    flat = drawings("flat", 1, torch.Generator().manual_seed(3))
    ramp = flat.clone()
    ramp[..., :, :] *= torch.linspace(0.9, 1.0, 32)  # a soft left-to-right gradient over the paint
    ramp = torch.where(flat < 0.92, ramp, flat)  # paper stays white
    h_flat, h_ramp = gradient_histograms(flat), gradient_histograms(ramp)
    assert torch.allclose(h_flat.sum(1), torch.tensor([2.0]), atol=1e-5)  # two histograms, each sums to 1
    assert h_flat[0, 0] > 0.7 and h_ramp[0, 0] < h_flat[0, 0] - 0.3  # first differences: zero vs small
    assert h_ramp[0, 7] > 0.7  # second differences of a linear ramp stay near zero


def test_the_classifier_learns_two_styles_and_round_trips(tmp_path):
    g = torch.Generator().manual_seed(2)
    images = torch.cat([drawings("flat", 40, g), drawings("outlined", 40, g)])
    labels = torch.tensor([0] * 40 + [1] * 40)
    model = StyleFeatureClassifier(num_styles=2, hidden=8)
    losses = fit_style_features(model, images, labels, torch.Generator().manual_seed(0), steps=200)
    assert losses[-1] < losses[0] / 3
    held = torch.cat([drawings("flat", 4, g), drawings("outlined", 4, g)])
    with torch.no_grad():
        assert model(held).argmax(1).tolist() == [0] * 4 + [1] * 4

    save_style_classifier(model, tmp_path / "f.safetensors")
    loaded = load_style_classifier(tmp_path / "f.safetensors", num_styles=2)
    with torch.no_grad():
        assert torch.equal(loaded(held), model(held))
    with pytest.raises(StyleDropError, match="refit"):
        load_style_classifier(tmp_path / "f.safetensors", num_styles=3)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(StyleDropError, match="bad.safetensors"):
        load_style_classifier(tmp_path / "bad.safetensors", num_styles=2)


def test_combined_verdict_is_the_renormalised_product():
    cnn = torch.tensor([[2.0, 0.0, 0.0]])
    features = torch.tensor([[0.0, 3.0, 0.0]])
    p = combine_style_logits(cnn, features).softmax(1)
    expected = cnn.softmax(1) * features.softmax(1)
    assert torch.allclose(p, expected / expected.sum(), atol=1e-6)
    assert torch.allclose(combine_style_logits(cnn, None).softmax(1), cnn.softmax(1))
    assert torch.allclose(combine_style_logits(cnn).softmax(1), cnn.softmax(1))
    patches = torch.tensor([[0.0, 0.0, 5.0]])
    three = cnn.softmax(1) * features.softmax(1) * patches.softmax(1)
    assert torch.allclose(combine_style_logits(cnn, features, patches).softmax(1), three / three.sum(), atol=1e-6)


def test_scorers_with_a_feature_classifier_follow_the_product(scorers, random_images):
    images = random_images(4)
    alone = scorers.style_probabilities(images)
    classifier = StyleFeatureClassifier(num_styles=len(scorers.labels.styles), hidden=4)
    both = Scorers(scorers.model, scorers.labels, style_experts={"features": classifier})
    combined = both.style_probabilities(images)
    with torch.no_grad():
        opinion = classifier(both.to_tensor(images)).softmax(1)
    expected = alone * opinion
    assert torch.allclose(combined, expected / expected.sum(1, keepdim=True), atol=1e-5)
    assert [s for s, _ in both.classify_style(images)] == [scorers.labels.style_ids[i] for i in combined.argmax(1)]
