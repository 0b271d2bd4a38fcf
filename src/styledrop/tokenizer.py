"""Image <-> token grid, behind one interface.

An image tokenizer turns images (B, 3, H, W) in [0, 1] into codebook ids (B, h, w) and back.
`VQTokenizer` wraps diffusers' `VQModel` as aMUSEd uses it (pixels in [0, 1], no [-1, 1]
normalisation; decoding looks the ids up in the codebook).
"""

from __future__ import annotations

from typing import Protocol

import torch
from diffusers import VQModel


class ImageTokenizer(Protocol):
    codebook_size: int
    downscale: int  # pixels per token along each side

    def encode(self, images: torch.Tensor) -> torch.Tensor: ...  # (B, 3, H, W) -> (B, h, w)

    def decode(self, ids: torch.Tensor) -> torch.Tensor: ...  # (B, h, w) -> (B, 3, H, W)

    def to(self, device) -> ImageTokenizer: ...


class VQTokenizer:
    def __init__(self, vq: VQModel):
        if not vq.config.lookup_from_codebook:
            raise ValueError("VQModel must have lookup_from_codebook=True to decode token ids (aMUSEd layout)")
        self.vq = vq.eval().requires_grad_(False)
        self.codebook_size = vq.config.num_vq_embeddings
        self.downscale = 2 ** (len(vq.config.block_out_channels) - 1)

    def to(self, device) -> VQTokenizer:
        self.vq.to(device)
        return self

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        latents = self.vq.encode(images.to(self.vq.device, self.vq.dtype)).latents  # (B, C, h, w)
        _, _, (_, _, indices) = self.vq.quantize(latents)  # VectorQuantizer: (z_q, loss, (perplexity, onehot, ids))
        batch, _, height, width = latents.shape
        return indices.reshape(batch, height, width)

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        batch, height, width = ids.shape
        shape = (batch, height, width, self.vq.config.latent_channels)
        images = self.vq.decode(ids.to(self.vq.device), force_not_quantize=True, shape=shape).sample
        return images.float().clamp(0, 1)
