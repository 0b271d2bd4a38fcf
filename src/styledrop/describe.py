"""`styledrop describe`: which style words the base already reads in a reference image.

StyleDrop captions the reference "A [content] in [style descriptor] style" and describes the style
briefly in words (STYLEDROP.md section 3). A descriptor the base knows puts its drawings near the
reference's look before any tuning, so the adapter has less to learn and less room to learn the
reference's content instead. This ranks candidate descriptors by how well the base alone predicts
the reference's tokens under each caption: the mean masked-token cross-entropy over the same masks
for every candidate (lower: the base reads the image as that style).

Candidates are the base's own style words where its folder lists them (`styles.json`: the words of
its pretraining captions, e.g. "fluent flat" and "fluent flat outlined"), or the words a user gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .base import BaseModel
from .captions import style_caption
from .errors import StyleDropError
from .grid import label_rows, make_grid
from .images import to_square
from .pipeline import StyleDropPipeline, sampler_settings
from .training.masking import mask_tokens, masked_token_loss

STYLES_FILE = "styles.json"


@dataclass(frozen=True)
class Reading:
    descriptor: str
    loss: float  # mean masked-token cross-entropy of the reference under the caption, nats


def base_style_words(base_dir: Path) -> list[str]:
    """The style words of a base's pretraining captions, from its styles.json; [] without one."""
    path = Path(base_dir) / STYLES_FILE
    if not path.is_file():
        return []
    try:
        words = json.loads(path.read_text())["descriptors"]
    except (ValueError, KeyError, TypeError) as err:
        raise StyleDropError(f"{path} is not a styles file ({err}); it holds {{\"descriptors\": [\"noto\", ...]}}") from None
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise StyleDropError(f"{path}: \"descriptors\" must be a list of style words, e.g. [\"noto\", \"twemoji\"]")
    return words


def write_style_words(base_dir: Path, descriptors: list[str]) -> None:
    from .files import atomic_write_text

    atomic_write_text(Path(base_dir) / STYLES_FILE, json.dumps({
        "why": "the style words of this base's pretraining captions ('A cow in WORDS style'): the candidates "
               "`styledrop describe` ranks for a reference image", "descriptors": descriptors}, indent=2) + "\n")


def caption(content: str, words: str) -> str:
    """The caption a candidate is read and drawn under, as `describe` suggests it."""
    return style_caption(content, words, article="auto")


@torch.no_grad()
def rank_descriptors(base: BaseModel, image: torch.Tensor, content: str, candidates: list[str], *,
                     masks: int = 64, seed: int = 0) -> list[Reading]:
    """image (3, H, W) in [0, 1] at the base's resolution; best first."""
    if not candidates:
        raise StyleDropError("no candidate style words: give some (--candidates 'watercolor painting' ...)")
    tokens = base.image_tokenizer.encode(image[None].to(base.device)).flatten(1).expand(masks, -1)  # (masks, N)
    inputs, masked = mask_tokens(tokens, base.mask_id, torch.Generator().manual_seed(seed), base.schedule)
    micro = base.micro_conds(masks)
    texts = base.text_encoder.encode([caption(content, words) for words in candidates]).to(base.device)
    readings = []
    for i, words in enumerate(candidates):
        text = texts.index([i] * masks)
        loss = masked_token_loss(base.transformer, inputs, masked, tokens, base.grid, text.states, text.pooled, micro)
        readings.append(Reading(words, round(loss.item(), 4)))
    return sorted(readings, key=lambda r: r.loss)


def draw_descriptors(base: BaseModel, image: Image.Image, content: str, descriptors: list[str],
                     per_row: int = 2) -> Image.Image:
    """A sheet with a labelled row per style words: the image, then the base's own drawings of the
    content under them (seeds 0 on), to look at rather than read."""
    config = sampler_settings(base, overrides={"num_images": per_row, "seed": 0})
    drawn = StyleDropPipeline(base).generate([caption(content, d) for d in descriptors], config, show_progress=False)
    square = to_square(image, base.resolution)
    rows = [[square, *(g.image for g in drawn[i * per_row : (i + 1) * per_row])] for i in range(len(descriptors))]
    return label_rows(make_grid(rows, min_cell=64), descriptors)
