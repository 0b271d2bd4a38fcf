"""The captions the image-text scorer is trained against, and which images each one fits.

Every content gets style-free captions, which fit its image in any style, and every (content,
style) pair gets captions naming the style, which fit only that image::

    style-free   "a cow", "an emoji of a cow", "a cow in [V] style", "a bull" (synonyms)
    with style   "a cow in OpenMoji black style", "a cow, black line drawing on white, no fill"

"a cow in [V] style" is there on purpose: StyleDrop prompts carry the placeholder ``[V]`` for the
learned style, and training it as style-free makes the text score of such a prompt measure the
content alone, the way the paper's CLIP text score is meant.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .labels import ScorerLabels

STYLE_FREE = -1  # `CaptionTable.style` of a caption that fits every style
MAX_SYNONYMS = 2  # per content; more would outweigh the caption itself


def with_article(noun: str) -> str:
    """"a cow", "an apple"; plural captions keep no article ("cherries", "fries")."""
    if noun.endswith("s") and not noun.endswith("ss"):
        return noun
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def style_free_captions(noun: str) -> list[str]:
    phrase = with_article(noun)
    return [phrase, f"an emoji of {phrase}", f"{phrase} in [V] style"]


def styled_captions(noun: str, name: str, look: str) -> list[str]:
    phrase = with_article(noun)
    return [f"{phrase} in {name} style", f"{phrase}, {look}"]


@dataclass(frozen=True)
class CaptionTable:
    texts: list[str]
    content: torch.Tensor  # (T,) class index of each caption
    style: torch.Tensor  # (T,) style index, or STYLE_FREE

    def fits(self, image_content: torch.Tensor, image_style: torch.Tensor) -> torch.Tensor:
        """(B,), (B,) image labels -> (B, T) bool: caption t describes image b.

        An image of unknown style (STYLE_FREE, e.g. a redrawn content view in training) is
        fitted by style-free captions only.
        """
        same_content = image_content[:, None] == self.content[None, :]
        style_ok = (self.style[None, :] == STYLE_FREE) | (
            (self.style[None, :] == image_style[:, None]) & (image_style[:, None] >= 0)
        )
        return same_content & style_ok


def caption_table(labels: ScorerLabels) -> CaptionTable:
    texts: list[str] = []
    content: list[int] = []
    style: list[int] = []
    for c, label in enumerate(labels.contents):
        nouns = [label.caption, *label.synonyms[:MAX_SYNONYMS]]
        free = style_free_captions(label.caption) + [with_article(n) for n in nouns[1:]]
        texts += free
        content += [c] * len(free)
        style += [STYLE_FREE] * len(free)
        for s, style_label in enumerate(labels.styles):
            styled = styled_captions(label.caption, style_label.name, style_label.look)
            texts += styled
            content += [c] * len(styled)
            style += [s] * len(styled)
    return CaptionTable(texts, torch.tensor(content), torch.tensor(style))
