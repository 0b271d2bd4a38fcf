"""Procedural style variants of pretraining images, to widen the base model's sense of "style".

Four real design languages (Noto, Twemoji, Fluent flat, Fluent modern) are too few points for a
small base to learn a *space* of styles: it memorises four, and a one-image adapter has nowhere to
move (models/emoji-base/README.md). A web-scale base such as Muse has seen outlined
cartoons, line art, silhouettes and posters of every object; these variants give the emoji base
the same axes, drawn by generic image operations from the pretraining sets only (palette shifts,
posterize, outline-only; nothing here ever reads a held-out set).

Each variant maps a 64 px RGB image composited on white to a 64 px RGB image; the caller resizes
to the training resolution. Lines are drawn at 64 px so that they survive as ~1.5 px at 32 px.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

INK = np.array([30, 30, 30], dtype=np.uint8)  # line colour: near-black, as ink on paper
WHITE = np.array([255, 255, 255], dtype=np.uint8)


def object_mask(rgb: np.ndarray, tolerance: int = 24) -> np.ndarray:
    """True where the drawing is: everything except near-white pixels connected to the border.

    White parts inside the drawing (a cow's patches, an egg) stay in the mask, as a flood fill from
    the border never reaches them.
    """
    near_white = (rgb.astype(np.int16) >= 255 - tolerance).all(-1)  # (H, W)
    background = np.zeros_like(near_white)
    background[0, :], background[-1, :], background[:, 0], background[:, -1] = (
        near_white[0, :], near_white[-1, :], near_white[:, 0], near_white[:, -1])
    while True:  # grow the border's white region through 4-neighbours; at most H + W sweeps
        grown = background.copy()
        grown[1:, :] |= background[:-1, :]
        grown[:-1, :] |= background[1:, :]
        grown[:, 1:] |= background[:, :-1]
        grown[:, :-1] |= background[:, 1:]
        grown &= near_white
        if (grown == background).all():
            return ~background
        background = grown


def flat_colours(rgb: np.ndarray, colours: int = 8) -> np.ndarray:
    """The image with its shading flattened to a few colours (median cut)."""
    quantized = Image.fromarray(rgb).quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    return np.asarray(quantized.convert("RGB"))


def edges(rgb: np.ndarray, mask: np.ndarray, threshold: int = 60) -> np.ndarray:
    """True on pixels where the colour changes sharply, or the drawing meets the background."""
    pixels = rgb.astype(np.int16)
    edge = np.zeros(mask.shape, dtype=bool)
    for axis in (0, 1):
        step = np.abs(np.diff(pixels, axis=axis)).sum(-1) > threshold
        step |= np.diff(mask.astype(np.int8), axis=axis) != 0
        if axis == 0:
            edge[1:, :] |= step
        else:
            edge[:, 1:] |= step
    return edge & _dilate(mask, 1)  # never outside the drawing's own rim


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    image = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(image.filter(ImageFilter.MaxFilter(2 * radius + 1))) > 127


def outlined(rgb: np.ndarray) -> np.ndarray:
    """Flat colours inside thick dark outlines (a sticker / comic look)."""
    flat = flat_colours(rgb)
    mask = object_mask(rgb)
    lines = _dilate(edges(flat, mask), 1)
    out = np.where(mask[..., None], flat, WHITE)
    return np.where(lines[..., None], INK, out).astype(np.uint8)


def line_art(rgb: np.ndarray) -> np.ndarray:
    """Dark lines on white, no fill."""
    lines = _dilate(edges(flat_colours(rgb), object_mask(rgb)), 1)
    return np.where(lines[..., None], INK, WHITE).astype(np.uint8)


def silhouette(rgb: np.ndarray) -> np.ndarray:
    """A dark silhouette with thin white lines where the colours change inside it."""
    flat = flat_colours(rgb)
    mask = object_mask(rgb)
    inner = edges(flat, mask) & ~_dilate(~mask, 1)
    out = np.where(mask[..., None], INK, WHITE)
    return np.where(inner[..., None], WHITE, out).astype(np.uint8)


def posterized(rgb: np.ndarray) -> np.ndarray:
    """Four levels per channel (0, 85, 170, 255): hard colour bands instead of shading; white stays white."""
    return (np.round(rgb.astype(np.float32) / 85) * 85).astype(np.uint8)


def grayscale(rgb: np.ndarray) -> np.ndarray:
    """Luminance only."""
    return np.asarray(Image.fromarray(rgb).convert("L").convert("RGB"))


VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "outlined": outlined, "line-art": line_art, "silhouette": silhouette,
    "posterized": posterized, "grayscale": grayscale,
}
# Words a caption uses for each variant: "A cow in twemoji outlined style".
VARIANT_WORDS = {"outlined": "outlined", "line-art": "line art", "silhouette": "silhouette",
                 "posterized": "posterized", "grayscale": "grayscale"}


def render_variant(image: Image.Image, variant: str, size: int) -> Image.Image:
    """`variant` of an RGB image (drawn at its own size), resized to `size` pixels."""
    if variant not in VARIANTS:
        raise KeyError(f"unknown style variant {variant!r}; known: {', '.join(VARIANTS)}")
    drawn = Image.fromarray(VARIANTS[variant](np.asarray(image.convert("RGB"))))
    return drawn if drawn.size == (size, size) else drawn.resize((size, size), Image.Resampling.LANCZOS)
