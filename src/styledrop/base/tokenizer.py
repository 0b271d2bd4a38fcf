"""Image <-> token grid, behind one interface.

An image tokenizer turns images (B, 3, H, W) in [0, 1] into codebook ids (B, h, w) and back.
`VQTokenizer` wraps diffusers' `VQModel` as aMUSEd uses it (pixels in [0, 1], no [-1, 1]
normalisation; decoding looks the ids up in the codebook). `PatchKMeansTokenizer`
(patch_tokenizer.py) is the other kind. A tokenizer folder is either's own: diffusers' VQModel
folder (config.json names the class) or the patch codebook's; `load_tokenizer_folder` reads both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch
from diffusers import VQModel

from ..errors import StyleDropError

CHUNK = 256  # images per encoder / decoder call: a VQModel's activations for 20k images would not fit


class ImageTokenizer(Protocol):
    codebook_size: int
    downscale: int  # pixels per token along each side

    def encode(self, images: torch.Tensor) -> torch.Tensor: ...  # (B, 3, H, W) -> (B, h, w)

    def decode(self, ids: torch.Tensor) -> torch.Tensor: ...  # (B, h, w) -> (B, 3, H, W)

    def to(self, device) -> ImageTokenizer: ...

    def state_dict(self) -> dict[str, torch.Tensor]: ...  # what makes two tokenizers the same

    def save(self, folder: Path) -> None: ...


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

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.vq.state_dict()

    def save(self, folder: Path) -> None:
        self.vq.save_pretrained(folder)

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._encode(images[i : i + CHUNK]) for i in range(0, len(images), CHUNK)])

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._decode(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)])

    def _encode(self, images: torch.Tensor) -> torch.Tensor:
        latents = self.vq.encode(images.to(self.vq.device, self.vq.dtype)).latents  # (B, C, h, w)
        _, _, (_, _, indices) = self.vq.quantize(latents)  # VectorQuantizer: (z_q, loss, (perplexity, onehot, ids))
        batch, _, height, width = latents.shape
        return indices.reshape(batch, height, width)

    def _decode(self, ids: torch.Tensor) -> torch.Tensor:
        batch, height, width = ids.shape
        shape = (batch, height, width, self.vq.config.latent_channels)
        images = self.vq.decode(ids.to(self.vq.device), force_not_quantize=True, shape=shape).sample
        return images.float().clamp(0, 1)


def load_tokenizer_folder(folder: Path) -> ImageTokenizer:
    """The tokenizer saved in `folder`: a diffusers VQModel folder or a patch k-means codebook."""
    from ..files import read_json_object
    from .patch_tokenizer import KIND, PatchKMeansTokenizer

    config = read_json_object(folder / "config.json", "give a tokenizer folder written by `styledrop pretrain` "
                              "or a diffusers VQModel folder")
    if config.get("kind") == KIND:
        return PatchKMeansTokenizer.load(folder)
    if config.get("_class_name") == VQModel.__name__:
        return VQTokenizer(VQModel.from_pretrained(folder))
    raise StyleDropError(f"{folder / 'config.json'} describes neither a patch k-means tokenizer "
                         f"(\"kind\": \"{KIND}\") nor a diffusers VQModel; give a tokenizer folder")


def same_tokenizer(a: ImageTokenizer, b: ImageTokenizer) -> bool:
    """Whether two tokenizers turn images into the same ids (same kind, same tensors)."""
    if type(a) is not type(b):
        return False
    mine, theirs = a.state_dict(), b.state_dict()
    return mine.keys() == theirs.keys() and all(torch.equal(mine[k].cpu(), theirs[k].cpu()) for k in mine)
