"""Fixed train/evaluation splits of the emoji world.

- ``heldout_style``: every image of a held-out style set (OpenMoji color/black, Fluent high
  contrast). These are the "new styles"; the tokenizer and base model must never see them.
- ``heldout_pair``: a seeded sample of (content, pretraining style) pairs, at most one per
  content, so each held-out pair's content and style are both still seen in pretraining (in
  other pairs) and the base model's compositional generalization can be measured on it.
- ``pretrain``: everything else.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from ..errors import StyleDropError

PRETRAIN = "pretrain"
HELDOUT_PAIR = "heldout_pair"
HELDOUT_STYLE = "heldout_style"
SPLITS = (PRETRAIN, HELDOUT_PAIR, HELDOUT_STYLE)


def choose_heldout_pairs(
    content_ids: Iterable[str],
    pretrain_styles: Sequence[str],
    *,
    fraction: float,
    seed: int,
) -> set[tuple[str, str]]:
    """About `fraction` of all (content, pretraining style) pairs, at most one per content.

    Uses its own `random.Random(seed)`, never the global RNG, and sorts its inputs first, so the
    choice depends only on the set of contents, the styles, the fraction and the seed.
    """
    if not pretrain_styles:
        return set()
    if not 0.0 <= fraction <= 1.0 / len(pretrain_styles):
        raise StyleDropError(
            f"heldout pair fraction {fraction} must lie in [0, 1/{len(pretrain_styles)}]: at "
            "most one pair per content is held out; pass a smaller fraction"
        )
    contents = sorted(set(content_ids))
    styles = sorted(pretrain_styles)
    target = round(fraction * len(contents) * len(styles))
    rng = random.Random(seed)
    chosen_contents = rng.sample(contents, target)
    return {(content_id, rng.choice(styles)) for content_id in sorted(chosen_contents)}


def split_of(
    content_id: str,
    style_id: str,
    *,
    heldout_styles: Iterable[str],
    heldout_pairs: set[tuple[str, str]],
) -> str:
    if style_id in set(heldout_styles):
        return HELDOUT_STYLE
    if (content_id, style_id) in heldout_pairs:
        return HELDOUT_PAIR
    return PRETRAIN
