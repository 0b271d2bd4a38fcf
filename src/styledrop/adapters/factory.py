"""Create an adapter of the configured kind and attach it to a transformer."""

from __future__ import annotations

import torch
from torch import nn

from .base import Adapter, AdapterConfig


def new_adapter(config: AdapterConfig, transformer: nn.Module, generator: torch.Generator | None = None,
                name: str = "styledrop") -> Adapter:
    """A freshly initialised adapter (the identity), attached to `transformer`."""
    if config.rank < 1:
        raise ValueError(f"adapter rank must be >= 1, got {config.rank}")
    if config.kind == "styledrop":
        from .styledrop import StyleDropAdapter, adapter_sites

        adapter = StyleDropAdapter(config, transformer.config.hidden_size, adapter_sites(transformer), generator)
        adapter.attach(transformer)
    elif config.kind == "lora":
        from .lora import LoraAdapter

        adapter = LoraAdapter(config, name=name)
        adapter.attach(transformer, generator)
    else:
        raise ValueError(f"unknown adapter kind {config.kind!r}")
    return adapter


def base_parameter_count(transformer: nn.Module, adapter: Adapter) -> int:
    """Parameters of the frozen base, not counting LoRA tensors that peft placed inside it."""
    own = {id(p) for p in adapter.trainable_parameters()}
    return sum(p.numel() for p in transformer.parameters() if id(p) not in own)
