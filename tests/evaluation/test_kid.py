"""KID: the estimator against a brute-force double loop, its zero and its order, and the feature net."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from styledrop.errors import StyleDropError
from styledrop.evaluation.features import (
    FEATURE_DIM,
    EfficientNetLite0,
    image_features,
    load_efficientnet_lite0,
    prepare,
    to_pixels,
    weights_path,
)
from styledrop.evaluation.kid import kid
from styledrop.evaluation.realism import real_floor, real_records
from styledrop.world.manifest import ManifestRecord, write_manifest


def brute_force_mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    """Binkowski et al.'s unbiased MMD^2 written as the sums read, in Python floats."""
    x, y = x.tolist(), y.tolist()
    m, d = len(x), len(x[0])

    def k(a, b):
        return (sum(p * q for p, q in zip(a, b)) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def gaussian(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) + shift


def test_kid_with_the_whole_set_as_its_subset_is_the_brute_force_unbiased_mmd2():
    x, y = gaussian(7, 5, seed=1), gaussian(7, 5, seed=2, shift=0.3)
    result = kid(x, y, subsets=3, subset_size=7, generator=torch.Generator().manual_seed(0))
    assert result.value == pytest.approx(brute_force_mmd2(x, y), rel=1e-9, abs=1e-12)
    assert result.standard_error == pytest.approx(0.0, abs=1e-9)  # every subset is the same set, reordered
    assert (result.subsets, result.subset_size, result.sizes) == (3, 7, (7, 7))


def test_two_halves_of_one_distribution_read_zero_within_the_standard_error():
    features = gaussian(1000, 64, seed=3)
    # 10 subsets of 50 from 500 each: they hardly overlap, so the standard error is an honest one
    result = kid(features[:500], features[500:], subsets=10, subset_size=50, generator=torch.Generator().manual_seed(0))
    assert abs(result.value) < 3 * result.standard_error
    assert result.standard_error > 0


def test_a_clearly_different_distribution_reads_farther_than_a_similar_one():
    reference = gaussian(200, 32, seed=4)
    similar, different = gaussian(200, 32, seed=5, shift=0.05), gaussian(200, 32, seed=6, shift=1.0)
    near = kid(reference, similar, subsets=20, subset_size=100, generator=torch.Generator().manual_seed(0))
    far = kid(reference, different, subsets=20, subset_size=100, generator=torch.Generator().manual_seed(0))
    assert far.value > near.value + 10 * (far.standard_error + near.standard_error)


def test_the_same_generator_gives_the_same_kid_and_the_global_rng_is_untouched():
    x, y = gaussian(60, 8, seed=7), gaussian(40, 8, seed=8, shift=0.2)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = kid(x, y, subsets=5, subset_size=20, generator=torch.Generator().manual_seed(9))
    second = kid(x, y, subsets=5, subset_size=20, generator=torch.Generator().manual_seed(9))
    other = kid(x, y, subsets=5, subset_size=20, generator=torch.Generator().manual_seed(10))
    assert first == second and first != other
    assert torch.equal(torch.get_rng_state(), state)
    assert kid(x, y, generator=torch.Generator()).subset_size == 20  # default: half the smaller set


def test_too_few_images_is_an_error_that_names_the_counts_and_the_fix():
    x, y = gaussian(5, 4, seed=0), gaussian(1, 4, seed=1)
    with pytest.raises(StyleDropError, match=r"subsets of 0 features, from sets of 5 and 1 images.*bring more images"):
        kid(x, y, generator=torch.Generator())
    with pytest.raises(StyleDropError, match=r"sets of 5 and 3 images"):
        kid(x, gaussian(3, 4, seed=3), generator=torch.Generator())  # half of 3 is 1: too few per subset
    with pytest.raises(StyleDropError, match=r"pass subset_size between 2 and 5"):
        kid(x, gaussian(6, 4, seed=2), subset_size=6, generator=torch.Generator())
    with pytest.raises(StyleDropError, match="subsets=2 or more"):
        kid(x, x, subsets=1, generator=torch.Generator())


def test_the_real_floor_compares_two_disjoint_halves():
    features = gaussian(9, 4, seed=11)
    result = real_floor(features, torch.Generator().manual_seed(0))
    assert result.sizes == (4, 4)  # the odd one out is left out, no image sits in both halves


def drawings(kind: str, n: int, seed: int) -> list[Image.Image]:
    """32 px pictures of one kind: red discs on white, or blue stripes on yellow, placed at random."""
    g = torch.Generator().manual_seed(seed)
    images = []
    for _ in range(n):
        a, b = (int(v) for v in torch.randint(4, 14, (2,), generator=g))
        image = Image.new("RGB", (32, 32), "white" if kind == "discs" else "yellow")
        draw = ImageDraw.Draw(image)
        if kind == "discs":
            draw.ellipse((a, b, a + 16, b + 16), fill=(220, 30, 30), outline="black")
        else:
            for x in range(a % 6, 32, 6):
                draw.rectangle((x, 0, x + 2, 31), fill=(20, 40, 200))
        images.append(image)
    return images


@pytest.fixture(scope="module")
def net() -> EfficientNetLite0:
    return load_efficientnet_lite0("cpu")


def test_the_packaged_weights_load_strictly_and_give_1280_wide_features(net):
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    loaded = EfficientNetLite0().load_state_dict(state, strict=True)
    assert not loaded.missing_keys and not loaded.unexpected_keys and len(state) == 296
    images = drawings("discs", 8, seed=0)
    features = image_features(images, "cpu")
    assert features.shape == (8, FEATURE_DIM) and features.dtype == torch.float32 and torch.isfinite(features).all()
    assert torch.allclose(image_features(images, "cpu", batch_size=3), features, atol=1e-5)  # batching changes nothing
    uint8 = (to_pixels(images) * 255).round().to(torch.uint8)
    assert torch.allclose(image_features(uint8, "cpu"), features, atol=1e-5)
    assert load_efficientnet_lite0("cpu") is net and not net.training  # loaded once, frozen


def test_the_classifier_is_not_degenerate(net):
    images = drawings("discs", 4, seed=1) + drawings("stripes", 4, seed=2)
    with torch.no_grad():
        probs = net(prepare(to_pixels(images))).softmax(-1)  # (8, 1000)
    assert probs.max(-1).values.min() > 10 / 1000  # far from uniform
    assert len(set(probs.argmax(-1).tolist())) > 1  # not one class for everything
    assert not torch.allclose(probs[0], probs[-1], atol=1e-3)


def test_network_features_put_one_kind_of_picture_nearer_to_itself_than_to_another(net):
    discs_a, discs_b = image_features(drawings("discs", 8, seed=3), "cpu"), image_features(drawings("discs", 8, seed=4), "cpu")
    stripes = image_features(drawings("stripes", 8, seed=5), "cpu")
    same = kid(discs_a, discs_b, subsets=20, generator=torch.Generator().manual_seed(0))
    other = kid(discs_a, stripes, subsets=20, generator=torch.Generator().manual_seed(0))
    assert other.value > 5 * abs(same.value) and other.value > same.value + 5 * other.standard_error


def record(style: str, content_id: str, sizes: dict[int, str]) -> ManifestRecord:
    return ManifestRecord(content_id=content_id, name=content_id, caption=content_id, synonyms=(), category="object",
                          style=style, split="heldout_style", paths={s: Path(p) for s, p in sizes.items()},
                          source_file="", package="test@0", license="CC-BY-SA-4.0")


def test_real_records_say_why_there_are_none(tmp_path):
    reason = real_records(tmp_path / "absent", "openmoji-color", 32)[1]
    assert str(tmp_path / "absent") in reason and "styledrop data emoji" in reason
    write_manifest(tmp_path, [record("noto", "a", {32: "a.png"}), record("openmoji-color", "b", {64: "b.png"})])
    assert real_records(tmp_path, "twemoji", 32) == (None, f"the dataset at {tmp_path} has no 'twemoji' images")
    assert "no 32 px images of 'openmoji-color'" in real_records(tmp_path, "openmoji-color", 32)[1]
    records, why_not = real_records(tmp_path, "openmoji-color", 64)
    assert why_not is None and [r.content_id for r in records] == ["b"] and records[0].paths[64] == tmp_path / "b.png"
