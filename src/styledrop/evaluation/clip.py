"""A real CLIP as a scorer, where the user has one on disk (transformers' CLIPModel in a folder).

The paper's two numbers, as the emoji world's `Scorers` give them too: text score =
cos(image, prompt), style score = cos(image, reference image). `styledrop feedback score --scorer
clip:PATH` uses it (e.g. openai/clip-vit-large-patch14, downloaded elsewhere).
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from ..errors import StyleDropError


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
        return torch.nn.functional.normalize(_projected(self.model.get_image_features(pixel_values=pixels)), dim=-1)

    @torch.no_grad()
    def text_scores(self, images: list[Image.Image], prompts: list[str]) -> list[float]:
        batch = self.processor(text=prompts, return_tensors="pt", padding=True, truncation=True)
        text = torch.nn.functional.normalize(_projected(self.model.get_text_features(**batch)), dim=-1)
        return (self._images(images) * text).sum(-1).tolist()

    def style_scores(self, images: list[Image.Image], reference: Image.Image) -> list[float]:
        return (self._images(images) @ self._images([reference])[0]).tolist()


def _projected(features) -> torch.Tensor:
    """The projected embeddings: transformers 5 returns them as the output's pooler_output, 4 as a tensor."""
    return features if isinstance(features, torch.Tensor) else features.pooler_output
