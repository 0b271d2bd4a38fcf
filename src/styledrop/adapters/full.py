"""A full fine-tune of the transformer: NOT an adapter, an upper reference for the adapters.

Every weight of the transformer trains (kind "full"); the file holds the whole tuned state dict.
It wears the `Adapter` interface so that training, files, `info` and two-scale guidance treat it
like the adapters:

- attach keeps a frozen copy of the transformer's weights (built on the meta device from its
  config, so no random numbers are drawn, and without the hooks of anything attached to it) and
  makes the transformer's own parameters trainable; the tuned weights live in the transformer;
- per-row gates (0 or 1 only: a whole model cannot be half on): a pre-hook on the transformer
  passes it the rows whose gate is on, and a hook computes the other rows with the frozen copy,
  so each row is computed once, as for the hooked adapters;
- detach writes the frozen weights back, so the base is the base again.

Memory: one extra copy of the transformer (plus the optimizer's two while training). A subject
adapter would hook the transformer's sub-modules and see only the tuned rows, so a full
fine-tune runs alone (`generation.py` refuses the pair).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Adapter, AdapterConfig


def frozen_copy(transformer: nn.Module) -> nn.Module:
    """A hook-free copy of `transformer` with its current weights, frozen, in eval mode."""
    with torch.device("meta"):
        copy = type(transformer).from_config(transformer.config)
    state = {k: v.detach().clone() for k, v in transformer.state_dict().items()}
    copy.load_state_dict(state, strict=True, assign=True)
    return copy.eval().requires_grad_(False)


def take_rows(values, rows: torch.Tensor, count: int):
    """The `rows` of every tensor in args or kwargs whose first dimension is the batch (`count`)."""
    pick = lambda v: v[rows] if isinstance(v, torch.Tensor) and v.dim() and v.shape[0] == count else v  # noqa: E731
    if isinstance(values, dict):
        return {k: pick(v) for k, v in values.items()}
    return tuple(pick(v) for v in values)


class FullFineTune(Adapter):
    def __init__(self, config: AdapterConfig):
        super().__init__()
        self.config = config
        self._transformer: nn.Module | None = None
        self._frozen: nn.Module | None = None
        self._was_trainable: list[bool] = []
        self._handles: list = []
        self._pending = None  # (args, kwargs, on) of the forward pass in flight

    def attach(self, transformer: nn.Module) -> None:
        if self._transformer is not None:
            raise RuntimeError("full fine-tune is already attached")
        self._transformer, self._frozen = transformer, frozen_copy(transformer)
        self._was_trainable = [p.requires_grad for p in transformer.parameters()]
        transformer.requires_grad_(True)
        self._handles = [transformer.register_forward_pre_hook(self._tuned_rows_only, with_kwargs=True),
                         transformer.register_forward_hook(self._add_frozen_rows, with_kwargs=True)]

    def _tuned_rows_only(self, _module, args, kwargs):
        if self.gate is None:
            return None  # every row tuned: the transformer as it is
        if not ((self.gate == 0) | (self.gate == 1)).all():
            raise ValueError("a full fine-tune's gate must be 0 or 1 per row")
        on = self.gate != 0
        if on.all():
            return None
        if not on.any():
            raise ValueError("a full fine-tune needs at least one row with its gate on")
        self._pending = (args, kwargs, on)
        rows = on.nonzero().flatten()
        return take_rows(args, rows, len(on)), take_rows(kwargs, rows, len(on))

    def _add_frozen_rows(self, _module, _args, _kwargs, output: torch.Tensor):
        if self._pending is None:
            return None
        args, kwargs, on = self._pending
        self._pending = None
        off = (~on).nonzero().flatten()
        frozen = self._frozen(*take_rows(args, off, len(on)), **take_rows(kwargs, off, len(on)))
        rows = output.new_empty((len(on), *output.shape[1:]))
        rows[on], rows[~on] = output, frozen.to(output.dtype)
        return rows

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        with torch.no_grad():
            self._transformer.load_state_dict(self._frozen.state_dict(), strict=True)
        for p, trainable in zip(self._transformer.parameters(), self._was_trainable):
            p.requires_grad_(trainable)
        self._transformer = self._frozen = None

    def adapter_state(self) -> dict[str, torch.Tensor]:
        """Copies, not views: detach writes the base's weights back into these very tensors."""
        return {k: v.detach().clone() for k, v in self._transformer.state_dict().items()}

    def load_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        self._transformer.load_state_dict(state, strict=True)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return list(self._transformer.parameters())
