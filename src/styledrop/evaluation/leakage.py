"""Content leakage: how often a stylised image shows the reference image's content instead.

StyleDrop learns a style from one image, say a cat drawn in some style; a leaky adapter draws
that cat whatever the prompt asks for. For images generated from prompts that ask for a content
other than the reference's, leakage is the share that the content classifier labels (top-1) as
the reference's content:

    leakage = #{i : prompted_i != ref and predicted_i == ref} / #{i : prompted_i != ref}

Images whose prompt asks for the reference's content itself cannot leak and are left out; so are
images whose prompt names no vocabulary content (`prompts.py`). With no image left the leakage
is undefined and returned as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image


def leakage_rate(
    predicted: Sequence[int], prompted: Sequence[int | None], reference: int
) -> float:
    """The formula above on class indices; `prompted` None marks an unmapped prompt."""
    if len(predicted) != len(prompted):
        raise ValueError(f"{len(predicted)} predictions for {len(prompted)} prompted contents")
    counted = [p for p, q in zip(predicted, prompted) if q is not None and q != reference]
    if not counted:
        return math.nan
    return sum(p == reference for p in counted) / len(counted)


def content_leakage(
    images: Sequence[Image.Image],
    prompted_contents: Sequence[str],
    reference_content: str,
    scorers,
) -> float:
    """Leakage of `images`; contents are prompts or captions ("A cow in [V] style", "cow").

    `scorers` is a `Scorers` (anything with `classify_content` and `content_index`/
    `require_content`). The reference content must name a vocabulary content.
    """
    if len(prompted_contents) != len(images):
        raise ValueError(f"{len(prompted_contents)} prompted contents for {len(images)} images")
    reference = scorers.require_content(reference_content)
    prompted = [scorers.content_index(text) for text in prompted_contents]
    top1 = [ranked[0][0] for ranked in scorers.classify_content(images, k=1)]
    predicted = [scorers.require_content(caption) for caption in top1]
    return leakage_rate(predicted, prompted, reference)
