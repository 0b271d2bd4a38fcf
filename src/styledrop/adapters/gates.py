"""Per-row adapter gates: run several guidance terms in one batched forward pass.

    with gated({style: torch.tensor([1., 0., 0.])}):
        logits = transformer(...)   # row 0 with the adapter, rows 1-2 the frozen base

The previous gates are restored in `finally`, also when the forward pass raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch

from .base import Adapter


@contextmanager
def gated(gates: Mapping[Adapter, torch.Tensor | None]) -> Iterator[None]:
    previous = {adapter: adapter.gate for adapter in gates}
    try:
        for adapter, gate in gates.items():
            adapter.gate = gate
        yield
    finally:
        for adapter, gate in previous.items():
            adapter.gate = gate
