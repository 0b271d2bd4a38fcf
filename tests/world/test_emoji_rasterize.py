"""The rasterizer: size, RGB, white background, aspect ratio, clean edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from styledrop.errors import StyleDropError
from styledrop.world.rasterize import rasterize

WHITE = (255, 255, 255)


def _transparent_png(path: Path, size: int, fmt: str = "PNG") -> Path:
    image = Image.new("RGBA", (size, size), (0, 255, 0, 0))  # transparent *green*
    image.paste((200, 0, 0, 255), (size // 4, size // 4, 3 * size // 4, 3 * size // 4))
    image.save(path, format=fmt, lossless=True)  # lossy WebP would add its own noise
    return path


@pytest.mark.parametrize("suffix,fmt,size", [(".png", "PNG", 64), (".webp", "WEBP", 256)])
def test_raster_sources_become_rgb_on_white(tmp_path, suffix, fmt, size):
    images = rasterize(_transparent_png(tmp_path / f"x{suffix}", size, fmt), (32, 64))
    for out_size, image in images.items():
        assert image.size == (out_size, out_size) and image.mode == "RGB"
        pixels = np.asarray(image)
        assert tuple(pixels[0, 0]) == WHITE and tuple(pixels[-1, -1]) == WHITE
        center = pixels[out_size // 2, out_size // 2]
        assert center[0] > 180 and center[1] < 30 and center[2] < 30
        # no green from the transparent pixels bleeds into the edges
        assert (pixels[..., 1].astype(int) - pixels[..., 0].astype(int)).max() <= 0


def test_svg_keeps_its_aspect_ratio_and_is_centred(tmp_path):
    svg = tmp_path / "wide.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 10">'
        '<rect width="20" height="10" fill="#0000ff"/></svg>'
    )
    image = np.asarray(rasterize(svg, (64,))[64])
    assert image.shape == (64, 64, 3)
    assert tuple(image[2, 32]) == WHITE and tuple(image[61, 32]) == WHITE  # padding above/below
    assert tuple(image[32, 1]) == (0, 0, 255) and tuple(image[32, 62]) == (0, 0, 255)


def test_svg_filters_are_rendered(tmp_path):
    """Fluent's modern set shades with feGaussianBlur; the renderer must not drop it."""
    svg = tmp_path / "blur.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
        '<filter id="b"><feGaussianBlur stdDeviation="3"/></filter>'
        '<rect x="8" y="8" width="16" height="16" fill="#000" filter="url(#b)"/></svg>'
    )
    row = np.asarray(rasterize(svg, (64,))[64])[32, :, 0].astype(int)
    assert len(set(row.tolist())) > 10  # a soft gradient, not a hard-edged square


def test_unreadable_image_names_the_file(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(StyleDropError, match="broken.png"):
        rasterize(broken, (32,))
