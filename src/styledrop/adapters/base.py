"""The interface every adapter kind implements, and its typed config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn

from ..config import setting

AdapterKind = Literal["styledrop", "lora", "adain", "full"]  # "full" is a full fine-tune, not an adapter
LORA_TARGETS = r"transformer_layers\.\d+\.(attn1|attn2)\.(to_q|to_k|to_v|to_out\.0)"


@dataclass(frozen=True)
class AdapterConfig:
    kind: AdapterKind = "styledrop"
    rank: int = setting(4, at_least=1)  # bottleneck width H (paper: 4 in round 1, 32 in round 2)
    shared: bool = True  # styledrop: one W_down/W_up for all layers plus per-layer biases (paper, round 1)
    lora_targets: str = LORA_TARGETS  # lora: regex over module names (peft's target_modules)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReferenceRow:
    """A fully known image that an adapter reads in every forward pass (shared attention's style
    image): the pipeline runs it as the batch's last row, with its caption, and never decodes it."""

    tokens: torch.Tensor  # (N,) token ids, no [MASK]
    caption: str


class Adapter(nn.Module):
    """An adapter attached to one transformer. Only its own parameters are trainable.

    `gate` is None (on for every row) or a (B,) tensor: row b's adapter output is scaled by
    gate[b]. Set it through `styledrop.adapters.gates.gated`, never by hand.
    """

    config: AdapterConfig
    reference: ReferenceRow | None = None  # set by adapters that read a reference row

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

    def add_gated(self, output: torch.Tensor, delta: Callable[[slice | torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """output + gate[b] * delta on the rows whose gate is on; only those rows pay for the adapter.

        `delta(rows)` returns the contribution for `output[rows]`: rows is `slice(None)` (gate None,
        every row) or a (R',) index tensor."""
        if self.gate is None:
            return output + delta(slice(None))
        rows = self.gate.nonzero().flatten()
        gate = self.gate[rows].to(output.dtype).view(-1, *([1] * (output.dim() - 1)))
        return output.index_add(0, rows, delta(rows) * gate)

    def scale_rows(self, delta: torch.Tensor) -> torch.Tensor:
        """Apply the per-row gate to an adapter's contribution (B, ...)."""
        if self.gate is None:
            return delta
        return delta * self.gate.to(delta.dtype).view(-1, *([1] * (delta.dim() - 1)))


class SiteAdapter(Adapter):
    """An adapter of its own parameters that changes the outputs of named sub-modules (`sites`)
    through forward hooks, so the model's forward stays untouched: each site's output y becomes
    y + gate * delta(site, y). Subclasses set `config` and `sites` and define `delta`."""

    sites: list[str]

    def __init__(self):
        super().__init__()
        self._handles: list = []

    def delta(self, site: int, output: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def attach(self, transformer: nn.Module) -> None:
        if self._handles:
            raise RuntimeError("adapter is already attached")
        modules = dict(transformer.named_modules())
        for index, name in enumerate(self.sites):
            def hook(_module, _args, output, index=index):
                return self.add_gated(output, lambda rows: self.delta(index, output[rows]))

            self._handles.append(modules[name].register_forward_hook(hook))
        self.to(next(transformer.parameters()).device)

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def adapter_state(self) -> dict[str, torch.Tensor]:
        return {name: p.detach() for name, p in self.named_parameters()}

    def load_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        self.load_state_dict(state, strict=True)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return list(self.parameters())
