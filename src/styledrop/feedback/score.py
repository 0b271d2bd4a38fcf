"""Round 2, step 2: text score and style score for every image of a pool.

Scorers: the emoji world's bundled ones by default (`styledrop.evaluation.scorers.Scorers`), or
a real CLIP from transformers where the user has one on disk (`--scorer clip:PATH`, a folder
with a CLIPModel and its processor, e.g. openai/clip-vit-large-patch14 downloaded elsewhere).
Both give the paper's two numbers: text score = cos(image, prompt), style score = cos(image,
reference image).
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from ..errors import StyleDropError
from ..images import load_image
from .manifest import PoolImage, read_pool_info, update_manifest


class ClipScorer:
    """CLIP image-text and image-image cosines (transformers' CLIPModel, loaded from a folder)."""

    def __init__(self, folder: Path):
        from transformers import CLIPModel, CLIPProcessor

        try:
            self.model = CLIPModel.from_pretrained(folder).eval()
            self.processor = CLIPProcessor.from_pretrained(folder)
        except OSError as err:
            raise StyleDropError(f"--scorer clip:{folder}: not a CLIP model folder ({err})") from err

    @torch.no_grad()
    def _images(self, images: list[Image.Image]) -> torch.Tensor:
        pixels = self.processor(images=images, return_tensors="pt")["pixel_values"]
        return torch.nn.functional.normalize(self.model.get_image_features(pixel_values=pixels), dim=-1)

    @torch.no_grad()
    def text_scores(self, images: list[Image.Image], prompts: list[str]) -> list[float]:
        batch = self.processor(text=prompts, return_tensors="pt", padding=True, truncation=True)
        text = torch.nn.functional.normalize(self.model.get_text_features(**batch), dim=-1)
        return (self._images(images) * text).sum(-1).tolist()

    def style_scores(self, images: list[Image.Image], reference: Image.Image) -> list[float]:
        return (self._images(images) @ self._images([reference])[0]).tolist()


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

    def change(images: list[PoolImage]) -> None:
        pictures = [load_image(Path(pool) / image.file) for image in images]
        text = scorer.text_scores(pictures, [image.prompt for image in images])
        style = scorer.style_scores(pictures, reference)
        for image, t, s in zip(images, text, style):
            image.scores.update(text=round(float(t), 5), style=round(float(s), 5))

    return update_manifest(pool, change)
