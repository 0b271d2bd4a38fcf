"""A k-means codebook over small pixel patches: the bundled base's image tokenizer.

Each p x p RGB patch becomes the id of its nearest centroid; decoding pastes the centroids
back. Emoji are flat colours with crisp edges, which a patch codebook keeps better than a small
VQ-VAE that this CPU could train (a 2.6M VQModel at f=8 reached 18 dB and lost colours). Measured
on the emoji world at 32 x 32 px by benchmarks/tokenizer_options.py (pretraining / held-out
styles, PSNR):

    4x4 patches, 1024 codes: 22.1 / 17.9 dB      2x2 patches, 1024 codes: 27.3 / 24.6 dB
    4x4 patches, 4096 codes: 24.0 / 18.9 dB      2x2 patches, 2048 codes: 28.4 / 25.6 dB

It has the same `encode`/`decode` interface as `VQTokenizer`; a base folder that uses it names
``["styledrop", "PatchKMeansTokenizer"]`` for ``vqvae`` in model_index.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from ..files import atomic_write_text, write_safetensors

WEIGHTS = "codebook.safetensors"
CONFIG = "config.json"
KIND = "patch-kmeans"  # config.json's "kind"


def to_patches(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, 3, H, W) -> (B, H/p, W/p, 3*p*p)."""
    b, c, h, w = images.shape
    x = images.unfold(2, patch, patch).unfold(3, patch, patch)  # (B, C, h, w, p, p)
    return x.permute(0, 2, 3, 1, 4, 5).reshape(b, h // patch, w // patch, c * patch * patch)


def from_patches(patches: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, h, w, 3*p*p) -> (B, 3, h*p, w*p)."""
    b, h, w, _ = patches.shape
    x = patches.reshape(b, h, w, 3, patch, patch).permute(0, 3, 1, 4, 2, 5)  # (B, C, h, p, w, p)
    return x.reshape(b, 3, h * patch, w * patch)


def nearest(vectors: torch.Tensor, codebook: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
    """Id of the nearest centroid for each row of vectors (N, D)."""
    return torch.cat([torch.cdist(vectors[i : i + chunk], codebook).argmin(1) for i in range(0, len(vectors), chunk)])


class PatchKMeansTokenizer:
    def __init__(self, codebook: torch.Tensor, patch: int):
        self.codebook = codebook.float()  # (K, 3 * p * p), pixel values in [0, 1]
        self.patch = patch
        self.codebook_size = codebook.shape[0]
        self.downscale = patch

    @classmethod
    def fit(cls, images: torch.Tensor, patch: int, codes: int, generator: torch.Generator,
            iterations: int = 20) -> PatchKMeansTokenizer:
        """Lloyd's k-means on all patches of `images` (B, 3, H, W); empty clusters are reseeded."""
        data = to_patches(images, patch).reshape(-1, 3 * patch * patch)
        centroids = data[torch.randperm(len(data), generator=generator)[:codes]].clone()
        for _ in range(iterations):
            ids = nearest(data, centroids)
            sums = torch.zeros_like(centroids).index_add_(0, ids, data)
            counts = torch.bincount(ids, minlength=codes).float()[:, None]
            reseed = data[torch.randint(len(data), (codes,), generator=generator)]
            centroids = torch.where(counts > 0, sums / counts.clamp(min=1), reseed)
        return cls(centroids, patch)

    def to(self, device) -> PatchKMeansTokenizer:
        self.codebook = self.codebook.to(device)
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"codebook": self.codebook, "patch": torch.tensor(self.patch)}

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        patches = to_patches(images.float().to(self.codebook.device), self.patch)  # (B, h, w, D)
        b, h, w, d = patches.shape
        return nearest(patches.reshape(-1, d), self.codebook).reshape(b, h, w)

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        return from_patches(self.codebook[ids.to(self.codebook.device)], self.patch).clamp(0, 1)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_safetensors({"codebook": self.codebook.cpu().contiguous()}, folder / WEIGHTS, {})
        atomic_write_text(folder / CONFIG, json.dumps({"kind": KIND, "patch": self.patch,
                                                       "codebook_size": self.codebook_size}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> PatchKMeansTokenizer:
        config = json.loads((folder / CONFIG).read_text())
        return cls(load_file(str(folder / WEIGHTS))["codebook"], config["patch"])


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in [0, 1], over the whole batch."""
    mse = torch.mean((a.float() - b.float()) ** 2).clamp(min=1e-12)
    return float(10 * torch.log10(1 / mse))
