"""`Scorers`: the paper's CLIP scores and two classifiers, on PIL images and free-text prompts.

    scorers = Scorers.load()                      # models/scorers, the bundled weights
    scorers.text_scores(images, ["a cow in [V] style"])   # cosine(image, prompt), per image
    scorers.style_scores(images, reference)       # cosine(image, reference image), per image
    scorers.classify_style(images)                # [("openmoji-black", 0.97), ...]
    scorers.classify_content(images, k=5)         # [[("cow", 0.81), ("ox", 0.07), ...], ...]

Every image is brought to RGB (transparency over white, as the emoji were drawn), centre-cropped
to a square and resized to the scorer's input size (64 px for the bundled one; a 32 px image
is enlarged, bicubic) before scoring.
Scores are cosines in [-1, 1]; probabilities are softmax values in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from ..errors import StyleDropError
from ..images import image_to_tensor, to_rgb8, to_square
from .accuracy import predict
from .labels import ScorerLabels
from .model import ScorerNet, ScorerOutput
from .prompts import ContentMatcher
from .style_experts import (
    combine_style_logits,
    expert_logits,
    load_style_experts,
)
from .weights import DEFAULT_SCORER_DIR, load_scorer


def default_text_encoder():
    """The frozen MiniLM encoder the bundled scorer was trained against (loaded on first use)."""
    from ..base.text.minilm import MiniLMTextEncoder

    return MiniLMTextEncoder()


class Scorers:
    def __init__(self, model: ScorerNet, labels: ScorerLabels, text_encoder=None,
                 style_experts: dict[str, torch.nn.Module] | None = None):
        self.model = model.eval()
        self.labels = labels
        self.matcher = ContentMatcher(labels.contents)
        self._text_encoder = text_encoder
        self.style_experts = {name: expert.eval() for name, expert in (style_experts or {}).items()}

    @classmethod
    def load(cls, directory: Path | str | None = None, text_encoder=None) -> Scorers:
        """The scorer folder `directory` (default: the bundled `models/scorers`), with the
        second opinions on style that the folder holds (`style_experts.py`)."""
        model, labels = load_scorer(directory)
        experts = load_style_experts(Path(directory or DEFAULT_SCORER_DIR), len(labels.styles))
        return cls(model, labels, text_encoder, experts)

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            self._text_encoder = default_text_encoder()
        return self._text_encoder

    @property
    def image_size(self) -> int:
        return self.model.config.image_size

    def to_tensor(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images -> (N, 3, S, S) float in [0, 1] at the scorer's input size."""
        if not images:
            raise ValueError("no images given")
        return torch.stack([image_to_tensor(to_square(to_rgb8(im), self.image_size)) for im in images])

    def outputs(self, images: Sequence[Image.Image]) -> ScorerOutput:
        return self._outputs(self.to_tensor(images))

    def _outputs(self, x: torch.Tensor) -> ScorerOutput:
        """The network's mirror-averaged outputs for (N, 3, S, S) images (`accuracy.predict`)."""
        return predict(self.model, x)

    @torch.no_grad()
    def embed_texts(self, prompts: Sequence[str]) -> torch.Tensor:
        """(N, E) unit-length text embeddings."""
        pooled = self.text_encoder.encode(list(prompts)).pooled.float()  # (N, text_dim)
        if pooled.shape[1] != self.model.config.text_dim:
            raise ValueError(f"text encoder gives {pooled.shape[1]}-d embeddings, the scorer "
                             f"expects {self.model.config.text_dim}")
        return self.model.embed_text(pooled)

    def text_scores(self, images: Sequence[Image.Image], prompts: Sequence[str]) -> list[float]:
        """cosine(image i, prompt i); a single prompt is used for every image."""
        if len(prompts) not in (1, len(images)):
            raise ValueError(f"{len(prompts)} prompts for {len(images)} images: give one prompt "
                             "per image, or one for all")
        image_emb = self.outputs(images).embedding  # (N, E)
        unique = sorted(set(prompts))
        text_emb = self.embed_texts(unique)  # (U, E)
        rows = [unique.index(p) for p in prompts] * (len(images) if len(prompts) == 1 else 1)
        return (image_emb * text_emb[rows]).sum(1).clamp(-1, 1).tolist()

    def style_scores(self, images: Sequence[Image.Image], reference: Image.Image) -> list[float]:
        """cosine(image embedding, reference image embedding), per image."""
        emb = self.outputs([*images, reference]).embedding  # (N + 1, E)
        return (emb[:-1] @ emb[-1]).clamp(-1, 1).tolist()

    @torch.no_grad()
    def style_probabilities(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """(N, num_styles): the CNN's style head times the scorer's other style experts
        (a product of experts, renormalised; `style_experts.py`)."""
        x = self.to_tensor(images)  # (N, 3, S, S)
        logits = self._outputs(x).style_logits
        return combine_style_logits(logits, *expert_logits(self.style_experts, x).values()).softmax(1)

    def classify_style(self, images: Sequence[Image.Image]) -> list[tuple[str, float]]:
        """The most likely style set of each image, with its probability."""
        probs = self.style_probabilities(images)  # (N, num_styles)
        best = probs.max(1)
        ids = self.labels.style_ids
        return [(ids[i], p) for i, p in zip(best.indices.tolist(), best.values.tolist())]

    def classify_content(
        self, images: Sequence[Image.Image], k: int = 5
    ) -> list[list[tuple[str, float]]]:
        """The k most likely contents of each image (captions, probabilities), best first."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        probs = self.outputs(images).content_logits.softmax(1)  # (N, num_contents)
        top = probs.topk(min(k, probs.shape[1]), dim=1)
        captions = self.labels.captions
        return [
            [(captions[i], p) for i, p in zip(indices, values)]
            for indices, values in zip(top.indices.tolist(), top.values.tolist())
        ]

    def content_index(self, text: str) -> int | None:
        """The content class a prompt or caption names (rule in `prompts.py`), or None."""
        return self.matcher.match_index(text)

    def require_content(self, text: str) -> int:
        index = self.content_index(text)
        if index is None:
            raise StyleDropError(
                f"{text!r} names no content of the scorer's vocabulary of "
                f"{len(self.labels.contents)} (e.g. {', '.join(self.labels.captions[:4])}); "
                "use a caption from models/scorers/labels.json"
            )
        return index
