"""A learned position embedding for UVit2DModel, which has none.

UVit2DModel's only sense of place is the zero padding of its 3x3 depthwise convolutions, so from
an all-[MASK] start every interior position gets the same logits (measured on the first emoji
base: identical to the last digit at (5, 5) and (9, 9)) and MaskGIT draws texture, not shapes.
`PositionEmbedding` adds a learned (C, h, w) table to the output of the token embedding
(`transformer.embed`) through a forward hook, so UVit2DModel's forward and its diffusers weight
file stay as they are; the table lives in ``transformer/position_embedding.safetensors``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

FILE = "position_embedding.safetensors"
KEY = "position_embedding"


class PositionEmbedding(nn.Module):
    def __init__(self, channels: int, height: int, width: int):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(1, channels, height, width))  # zero: starts as a no-op
        self._handle = None

    def attach(self, transformer: nn.Module) -> PositionEmbedding:
        self.to(next(transformer.parameters()).device)
        self._handle = transformer.embed.register_forward_hook(lambda _m, _a, out: out + self.table.to(out.dtype))
        return self

    @classmethod
    def for_transformer(cls, transformer: nn.Module, std: float = 0.02, generator: torch.Generator | None = None):
        config = transformer.config
        grid = config.sample_size
        module = cls(config.block_out_channels, grid, grid)
        with torch.no_grad():
            module.table.normal_(0, std, generator=generator)
        return module.attach(transformer)

    def save(self, folder: Path) -> None:
        save_file({KEY: self.table.detach().cpu().contiguous()}, str(Path(folder) / FILE))

    @classmethod
    def load_into(cls, transformer: nn.Module, folder: Path) -> PositionEmbedding | None:
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        table = load_file(str(path))[KEY]
        module = cls(*table.shape[1:])
        module.table.data.copy_(table)
        module.requires_grad_(False)
        return module.attach(transformer)
