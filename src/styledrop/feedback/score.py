"""Round 2, step 2: text score and style score for every image of a pool.

Scorers: the emoji world's bundled ones by default (`styledrop.evaluation.scorers.Scorers`), or
a real CLIP from transformers where the user has one on disk (`--scorer clip:PATH`, a folder
with a CLIPModel and its processor, e.g. openai/clip-vit-large-patch14 downloaded elsewhere).
Both give the paper's two numbers: text score = cos(image, prompt), style score = cos(image,
reference image). The text score reads the prompt without the adapter's style words ("A cow" for
"A cow in fluent flat outlined style"): it measures what is drawn, and style words that name a
look the scorer knows would otherwise reward drawings in that look rather than the reference's.
"""

from __future__ import annotations

from pathlib import Path

from ..captions import strip_style
from ..errors import StyleDropError
from ..evaluation.clip import ClipScorer
from ..images import load_image
from .manifest import PoolImage, read_pool_info, update_manifest


def scorer_from_spec(spec: str | None):
    """`None` or "emoji": the bundled emoji-world scorers; "clip:PATH": a local CLIP."""
    if spec is None or spec == "emoji":
        from ..evaluation.scorers import Scorers

        return Scorers.load()
    if spec.startswith("clip:"):
        return ClipScorer(Path(spec.removeprefix("clip:")))
    raise StyleDropError(f"--scorer {spec!r}: use 'emoji' (the bundled scorers) or 'clip:PATH' (a local CLIP folder)")


def score_pool(pool: Path, scorer) -> list[PoolImage]:
    """Write "text" and "style" scores into every manifest line."""
    info = read_pool_info(pool)
    reference = load_image(Path(pool) / info["reference"])
    descriptor = info.get("style_descriptor") or ""

    def change(images: list[PoolImage]) -> None:
        pictures = [load_image(Path(pool) / image.file) for image in images]
        text = scorer.text_scores(pictures, [strip_style(image.prompt, descriptor) for image in images])
        style = scorer.style_scores(pictures, reference)
        for image, t, s in zip(images, text, style):
            image.scores.update(text=round(float(t), 5), style=round(float(s), 5))

    return update_manifest(pool, change)
