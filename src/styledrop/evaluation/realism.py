"""Realism: KID of drawings against the real images of their style sets, as reports give it.

`benchmarks/base_quality.py` and `styledrop demo` both call these, so that a KID in one is the
same measure as in the other: EfficientNet-Lite0 features (`features.py`), 100 subsets of at
most 1000 images (`kid.py`), and the real images of the dataset at the base's resolution.

    reals = real_features(style_records(records, {"openmoji-color"}), size=32, device="cpu")  # (N, 1280)
    kid_to_real(drawings, reals, device="cpu", generator=torch.Generator().manual_seed(0))
    real_floor(reals, generator)    # KID of two disjoint random halves of the reals
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import torch
from PIL import Image

from ..world.manifest import MANIFEST_NAME, load_manifest
from .features import image_features
from .kid import KID, kid

SUBSETS = 100


def style_records(records: Sequence, styles: Collection[str]) -> list:
    """Every image of these style sets, whatever its split (pretraining, held-out pair or style)."""
    return [r for r in records if r.style in styles]


def real_features(records: Sequence, size: int, device: torch.device | str) -> torch.Tensor:
    """(N, 1280) features of the records' real `size`-px images, in their order."""
    return image_features([Image.open(r.paths[size]).convert("RGB") for r in records], device)


def kid_to_real(images, real: torch.Tensor, *, device: torch.device | str, generator: torch.Generator) -> KID:
    """KID of `images` (PIL or (N, 3, H, W) pixels) against precomputed real features."""
    return kid(image_features(images, device), real, subsets=SUBSETS, generator=generator)


def real_floor(real: torch.Tensor, generator: torch.Generator) -> KID:
    """KID of two disjoint random halves of the reals: what the measure reads for no difference at all."""
    order = torch.randperm(len(real), generator=generator)
    half = len(real) // 2
    return kid(real[order[:half]], real[order[half : 2 * half]], subsets=SUBSETS, generator=generator)


def real_records(data: Path, style: str, size: int) -> tuple[list | None, str | None]:
    """The dataset's records of `style` that have `size` px images, or None and why there are none."""
    if not (data / MANIFEST_NAME).is_file():
        return None, f"no dataset at {data} (build it with `styledrop data emoji --out {data}`)"
    records = [r for r in load_manifest(data) if r.style == style]
    if not records:
        return None, f"the dataset at {data} has no {style!r} images"
    if any(size not in r.paths for r in records):
        return None, f"the dataset at {data} has no {size} px images of {style!r}"
    return records, None
