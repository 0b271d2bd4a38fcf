"""CLIP text encoder with projection, exactly as aMUSEd conditions its transformer."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import CLIPTextModelWithProjection, CLIPTokenizer

from . import TextEmbedding


class ClipTextEncoder:
    kind = "clip"

    def __init__(self, model: CLIPTextModelWithProjection, tokenizer: CLIPTokenizer):
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer

    @classmethod
    def from_folders(cls, text_encoder_dir: Path, tokenizer_dir: Path) -> ClipTextEncoder:
        return cls(CLIPTextModelWithProjection.from_pretrained(text_encoder_dir), CLIPTokenizer.from_pretrained(tokenizer_dir))

    @property
    def max_length(self) -> int:
        return self.tokenizer.model_max_length

    def save(self, text_encoder_dir: Path, tokenizer_dir: Path) -> None:
        self.model.save_pretrained(text_encoder_dir)
        self.tokenizer.save_pretrained(tokenizer_dir)

    def to(self, device: torch.device | str) -> ClipTextEncoder:
        self.model.to(device)
        return self

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> TextEmbedding:
        ids = self.tokenizer(
            prompts, return_tensors="pt", padding="max_length", truncation=True,
            max_length=self.tokenizer.model_max_length,
        ).input_ids.to(self.model.device)
        out = self.model(ids, return_dict=True, output_hidden_states=True)
        # aMUSEd: cross-attention reads the penultimate layer, the norms read the projected embeds
        return TextEmbedding(states=out.hidden_states[-2], pooled=out.text_embeds)
