"""The interface every adapter kind implements, and its typed config."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn

from ..config import setting

AdapterKind = Literal["styledrop", "lora"]
LORA_TARGETS = r"transformer_layers\.\d+\.(attn1|attn2)\.(to_q|to_k|to_v|to_out\.0)"


@dataclass(frozen=True)
class AdapterConfig:
    kind: AdapterKind = "styledrop"
    rank: int = setting(4, at_least=1)  # bottleneck width H (paper: 4 in round 1, 32 in round 2)
    shared: bool = True  # styledrop: one W_down/W_up for all layers plus per-layer biases (paper, round 1)
    lora_targets: str = LORA_TARGETS  # lora: regex over module names (peft's target_modules)

    def to_dict(self) -> dict:
        return asdict(self)


class Adapter(nn.Module):
    """An adapter attached to one transformer. Only its own parameters are trainable.

    `gate` is None (on for every row) or a (B,) tensor: row b's adapter output is scaled by
    gate[b]. Set it through `styledrop.adapters.gates.gated`, never by hand.
    """

    config: AdapterConfig

    def __init__(self):
        super().__init__()
        self.gate: torch.Tensor | None = None

    def attach(self, transformer: nn.Module) -> None:
        raise NotImplementedError

    def detach(self) -> None:
        raise NotImplementedError

    def adapter_state(self) -> dict[str, torch.Tensor]:
        """The tensors written to an adapter file (names stable across save/load)."""
        raise NotImplementedError

    def load_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    def trainable_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.trainable_parameters())

    def scale_rows(self, delta: torch.Tensor) -> torch.Tensor:
        """Apply the per-row gate to an adapter's contribution (B, ...)."""
        if self.gate is None:
            return delta
        return delta * self.gate.to(delta.dtype).view(-1, *([1] * (delta.dim() - 1)))
