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
    elif config.kind == "adain":
        from .adain import AdaInAdapter, adain_sites

        adapter = AdaInAdapter(config, transformer.config.hidden_size, adain_sites(transformer))
        adapter.attach(transformer)
    elif config.kind == "full":
        from .full import FullFineTune

        adapter = FullFineTune(config)
        adapter.attach(transformer)
    else:
        raise ValueError(f"unknown adapter kind {config.kind!r}")
    return adapter


# What `styledrop info` compares on a base: the paper's two StyleDrop adapters, LoRA, AdaIN, and
# the full fine-tune (not an adapter: the upper reference)
COMPARED = {
    "styledrop rank 4 shared (paper round 1)": AdapterConfig(kind="styledrop", rank=4, shared=True),
    "styledrop rank 32 unshared (paper round 2)": AdapterConfig(kind="styledrop", rank=32, shared=False),
    "lora rank 4": AdapterConfig(kind="lora", rank=4),
    "adain": AdapterConfig(kind="adain"),
    "full fine-tune (not an adapter)": AdapterConfig(kind="full"),
}


def trainable_parameter_counts(transformer: nn.Module) -> dict[str, int]:
    """Trainable parameters of each kind in COMPARED on `transformer` (attached, counted, detached)."""
    counts = {}
    for label, config in COMPARED.items():
        if config.kind == "full":  # no need to copy the model to count it
            counts[label] = sum(p.numel() for p in transformer.parameters())
            continue
        adapter = new_adapter(config, transformer, torch.Generator().manual_seed(0))
        counts[label] = adapter.num_parameters()
        adapter.detach()
    return counts
