"""Turn one source file (PNG, WebP or SVG) into square RGB images on white at the target sizes.

Order matters: the transparent master is first padded to a square, then composited on white,
and only then downsampled. Resizing RGBA before compositing would bleed the (arbitrary) colour
of fully transparent pixels into the edges; compositing first gives clean anti-aliased borders.

SVGs are drawn with resvg (`resvg-py`) at `SVG_MASTER_PX`: Fluent's "modern" set draws its
shading with SVG filters (feGaussianBlur, feColorMatrix, feComposite in ~94% of its files), which
resvg renders and CairoSVG silently drops (flat, outline-less shapes instead of the soft 3D look).
Downsampling uses Pillow's Lanczos filter, which widens its kernel with the scale factor and so
averages over the whole source area of each output pixel.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from ..errors import StyleDropError

SVG_MASTER_PX = 256  # render SVGs at 4x the largest output size, then downsample
BACKGROUND = (255, 255, 255)


def render_svg(svg: bytes, size_px: int = SVG_MASTER_PX) -> Image.Image:
    """An RGBA image whose longer side is `size_px`, aspect ratio kept."""
    import resvg_py  # imported here so that PNG-only users need no SVG renderer

    text = svg.decode("utf-8")
    # Setting only one side keeps the aspect ratio (setting both distorts non-square drawings):
    # fit the width first, and refit the height for the rare drawing that is taller than wide.
    png = resvg_py.svg_to_bytes(svg_string=text, width=size_px, skip_system_fonts=True)
    image = Image.open(io.BytesIO(bytes(png)))
    if image.height > size_px:
        png = resvg_py.svg_to_bytes(svg_string=text, height=size_px, skip_system_fonts=True)
        image = Image.open(io.BytesIO(bytes(png)))
    return image.convert("RGBA")


def load_master(path: Path) -> Image.Image:
    """The source file as an RGBA image at its own (or, for SVG, the master) resolution."""
    try:
        if path.suffix.lower() == ".svg":
            return render_svg(path.read_bytes())
        with Image.open(path) as image:
            return image.convert("RGBA")
    except (OSError, ValueError) as error:
        raise StyleDropError(
            f"{path}: cannot read this image ({error}); delete it so that the next run "
            "extracts it again from the verified tarball"
        ) from error


def square_on_white(image: Image.Image) -> Image.Image:
    """Pad to a centred square (transparent), then composite on white: RGB, same scale."""
    side = max(image.size)
    canvas = Image.new("RGBA", (side, side), BACKGROUND + (0,))
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    white = Image.new("RGBA", (side, side), BACKGROUND + (255,))
    white.alpha_composite(canvas)
    return white.convert("RGB")


def resize(image: Image.Image, size: int) -> Image.Image:
    if image.size == (size, size):
        return image.copy()
    return image.resize((size, size), Image.Resampling.LANCZOS)


def rasterize(path: Path, sizes: Sequence[int]) -> dict[int, Image.Image]:
    """Square RGB images on white, one per size, from one source file."""
    flat = square_on_white(load_master(path))
    return {size: resize(flat, size) for size in sizes}
