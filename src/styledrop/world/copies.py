"""Near-copies between style sets: an extra set's drawing that repeats a held-out image.

Two sets can share drawings (Fluent 3D repeats Fluent color; an old Noto drawing may survive into
the new Noto). An extra pretraining image that is a near-copy of one of the held-out images of the
same content would leak that held-out pair or style into pretraining, so the build leaves it out.
The measure is the mean absolute pixel difference at the dataset's smallest size, in 0-255 units:
`benchmarks/set_copies.py` prints its distribution across the sets that the threshold was read from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

NEAR_COPY_MAD = 6.0  # below this mean absolute difference (0-255) two drawings count as one


def load_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def copies_any(path: Path, others: Iterable[Path], threshold: float = NEAR_COPY_MAD) -> bool:
    """True when the image at `path` is within `threshold` of any of `others` (same size)."""
    pixels = load_pixels(path)
    return any(mean_abs_difference(pixels, load_pixels(other)) < threshold for other in others)
