"""Leakage arithmetic, on class indices and through a stubbed classifier."""

from __future__ import annotations

import math

import pytest

from styledrop.errors import StyleDropError
from styledrop.evaluation.leakage import content_leakage, leakage_rate


def test_leakage_counts_only_images_prompted_for_another_content():
    reference = 0
    predicted = [0, 0, 1, 2, 0, 3]
    prompted = [1, 2, 1, 0, None, 3]  # image 3 asked for the reference, image 4 for nothing
    # counted: images 0, 1, 2, 5 -> two of them show the reference's content
    assert leakage_rate(predicted, prompted, reference) == pytest.approx(2 / 4)


def test_leakage_is_nan_when_no_image_can_leak():
    assert math.isnan(leakage_rate([0, 1], [0, None], reference=0))
    with pytest.raises(ValueError):
        leakage_rate([0], [1, 2], reference=0)


class StubScorers:
    """Only what content_leakage uses: a fixed top-1 per image and the prompt rule."""

    captions = ("cow", "dog", "cat")

    def __init__(self, top1: list[str]):
        self.top1 = top1

    def classify_content(self, images, k=5):
        assert k == 1
        return [[(caption, 0.9)] for caption in self.top1[: len(images)]]

    def content_index(self, text):
        for index, caption in enumerate(self.captions):
            if caption in text.lower():
                return index
        return None

    def require_content(self, text):
        index = self.content_index(text)
        if index is None:
            raise StyleDropError(f"{text!r} names no content")
        return index


def test_content_leakage_uses_top1_and_the_prompt_rule(random_images):
    images = random_images(4)
    stub = StubScorers(top1=["cat", "dog", "cat", "cat"])
    prompts = ["A cow in [V] style", "A dog in [V] style", "A cat in [V] style", "A tree"]
    # reference "cat": image 2 asked for a cat, image 3 for nothing -> counted 0 and 1
    assert content_leakage(images, prompts, "cat", stub) == pytest.approx(1 / 2)
    with pytest.raises(StyleDropError, match="names no content"):
        content_leakage(images, prompts, "a tree", stub)
    with pytest.raises(ValueError):
        content_leakage(images, prompts[:2], "cat", stub)


def test_content_leakage_on_a_real_tiny_scorer_is_a_share(scorers, random_images):
    images = random_images(6, seed=3)
    value = content_leakage(images, ["a cow"] * 3 + ["a dog"] * 3, "hot dog", scorers)
    assert 0.0 <= value <= 1.0
    assert value * 6 == pytest.approx(round(value * 6))
