"""load_image refuses bad files with a StyleDropError naming them, and normalises good ones."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from styledrop import images
from styledrop.errors import StyleDropError
from styledrop.images import (
    image_to_tensor,
    load_image,
    save_png_atomic,
    tensor_to_image,
    to_square,
)

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def pixels(image: Image.Image) -> list:
    """Rows of pixel tuples, for readable equality checks."""
    return [[tuple(p) for p in row] for row in np.asarray(image).tolist()]


def saved(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def mode_of(path: Path) -> str:
    with Image.open(path) as image:
        return image.mode


def red_blue(mode: str = "RGB") -> Image.Image:
    """A 2x1 image: red on the left, blue on the right."""
    image = Image.new("RGB", (2, 1), RED)
    image.putpixel((1, 0), BLUE)
    return image.convert(mode)


def refuses(path: Path, *words: str) -> str:
    with pytest.raises(StyleDropError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    return message


# --- refusals -------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    refuses(tmp_path / "nope.png", "image not found")


def test_directory(tmp_path):
    refuses(tmp_path, "folder")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = saved(red_blue(), tmp_path / "locked.png")
    path.chmod(0)
    try:
        refuses(path, "permission denied")
    finally:
        path.chmod(0o644)


def test_permission_error_is_reported(tmp_path, monkeypatch):
    # Runs as root too (where chmod does not lock a file): the open call itself is refused.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    path = saved(red_blue(), tmp_path / "locked.png")
    monkeypatch.setattr(images, "open", refuse, raising=False)
    refuses(path, "permission denied")


def test_text_file_renamed_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture\n")
    refuses(path, "not an image", "PNG", "JPEG")


def test_format_outside_read_formats(tmp_path):
    refuses(saved(Image.new("RGB", (16, 16)), tmp_path / "icon.ico"), "not an image", "WEBP")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(tmp_path, fmt):
    rng = np.random.default_rng(0)
    full = saved(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)),
                 tmp_path / "full", format=fmt)
    data = full.read_bytes()
    path = tmp_path / f"half.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    refuses(path, "truncated")


def test_too_many_pixels_checked_from_header_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    full = saved(Image.new("RGB", (20, 10)), tmp_path / "big.png")
    path = tmp_path / "big_truncated.png"
    path.write_bytes(full.read_bytes()[:60])  # header intact, pixel data gone
    # Says "too large", not "truncated": the size was refused before any decoding.
    refuses(path, "20x10", "200", "100", "resize it first")
    refuses(full, "resize it first")


@pytest.mark.parametrize("size", [(10, 10), (20, 10)])  # PIL warns above its limit, errors above 2x
def test_pil_decompression_bomb_becomes_error(tmp_path, monkeypatch, size):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60)  # test only; the library never sets it
    path = saved(Image.new("RGB", size), tmp_path / "bomb.png")
    filters_before = list(warnings.filters)
    refuses(path, "too large", "resize it first")
    assert list(warnings.filters) == filters_before


def test_global_truncated_flag_is_not_set_and_is_respected(tmp_path, monkeypatch):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        load_image(saved(red_blue(), tmp_path / "a.png"))


# --- normalisation --------------------------------------------------------------------------


def test_exif_orientation_is_applied(tmp_path):
    image = red_blue()
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: "rotate 90 CW to display"; stored column 0 is the top
    loaded = load_image(saved(image, tmp_path / "rotated.png", exif=exif))
    assert loaded.size == (1, 2)
    assert pixels(loaded) == [[RED], [BLUE]]


@pytest.mark.parametrize("mode, white", [("L", 255), ("1", 1)])
def test_grayscale_becomes_rgb(tmp_path, mode, white):
    image = Image.new(mode, (2, 1), 0)
    image.putpixel((1, 0), white)
    loaded = load_image(saved(image, tmp_path / "gray.png"))
    assert loaded.mode == "RGB" and loaded.size == (2, 1)
    assert pixels(loaded) == [[(0, 0, 0), WHITE]]


def test_rgba_is_composited_over_white(tmp_path):
    image = Image.new("RGBA", (3, 1), (0, 0, 0, 0))  # fully transparent black
    image.putpixel((1, 0), (255, 0, 0, 255))  # opaque red
    image.putpixel((2, 0), (0, 0, 0, 128))  # half-transparent black
    loaded = load_image(saved(image, tmp_path / "alpha.png"))
    assert loaded.mode == "RGB"
    assert pixels(loaded) == [[WHITE, RED, (127, 127, 127)]]


def test_la_is_composited_over_white(tmp_path):
    image = Image.new("LA", (2, 1), (0, 0))
    image.putpixel((1, 0), (0, 255))
    assert pixels(load_image(saved(image, tmp_path / "la.png"))) == [[WHITE, (0, 0, 0)]]


@pytest.mark.parametrize("suffix", ["png", "gif"])
def test_palette_with_transparent_colour(tmp_path, suffix):
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 0, 0, 255])  # index 0 black (transparent), 1 blue
    image.putpixel((1, 0), 1)
    loaded = load_image(saved(image, tmp_path / f"p.{suffix}", transparency=0))
    assert pixels(loaded) == [[WHITE, BLUE]]


def test_pa_is_composited_over_white(tmp_path):
    # Pillow cannot write PA files, so the conversion step is checked directly.
    image = Image.new("PA", (2, 1))
    image.putpalette([0, 0, 255] * 2)
    image.putpixel((1, 0), (0, 255))
    assert pixels(images.to_rgb8(image, tmp_path / "x")) == [[WHITE, BLUE]]


@pytest.mark.parametrize("dtype, mode, suffix", [("<u2", "I;16", "png"), ("<u2", "I;16", "tif"),
                                                (">u2", "I;16B", "tif")])
def test_sixteen_bit_is_divided_by_257(tmp_path, dtype, mode, suffix):
    image = Image.fromarray(np.array([[0, 257, 65535]], dtype=dtype))
    path = saved(image, tmp_path / f"deep.{suffix}")
    assert mode_of(path) == mode
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    assert pixels(loaded) == [[(0, 0, 0), (1, 1, 1), (255, 255, 255)]]


def test_int32_with_16_bit_values(tmp_path):
    image = Image.fromarray(np.array([[0, 65535]], dtype=np.int32))
    assert pixels(load_image(saved(image, tmp_path / "i.tif"))) == [[(0, 0, 0), WHITE]]


def test_int32_beyond_16_bits_is_refused(tmp_path):
    image = Image.fromarray(np.array([[0, 70000]], dtype=np.int32))
    refuses(saved(image, tmp_path / "i.tif"), "70000", "16-bit")


@pytest.mark.parametrize("values, expected", [([0.0, 0.5, 1.0], [0, 128, 255]),
                                              ([0.0, 200.0, 300.0], [0, 200, 255])])
def test_float_images(tmp_path, values, expected):
    image = Image.fromarray(np.array([values], dtype=np.float32))
    loaded = load_image(saved(image, tmp_path / "f.tif"))
    assert [p[0] for p in pixels(loaded)[0]] == expected


@pytest.mark.parametrize("mode", ["CMYK", "YCbCr", "LAB"])
def test_other_modes_become_rgb(tmp_path, mode):
    path = saved(red_blue().convert(mode) if mode != "LAB" else Image.new("LAB", (2, 1)),
                 tmp_path / "other.tif")
    assert mode_of(path) == mode
    loaded = load_image(path)
    assert loaded.mode == "RGB" and loaded.size == (2, 1)
    if mode == "CMYK":
        assert pixels(loaded) == [[RED, BLUE]]


@pytest.mark.parametrize("suffix", ["gif", "png", "webp"])
def test_animated_image_gives_first_frame(tmp_path, suffix):
    frames = [Image.new("RGB", (4, 4), colour) for colour in (RED, BLUE)]
    path = tmp_path / f"anim.{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    with Image.open(path) as opened:
        assert opened.n_frames == 2
    loaded = load_image(path)
    assert loaded.mode == "RGB" and pixels(loaded)[0][0] == RED


# --- squares, tensors, saving ---------------------------------------------------------------


@pytest.mark.parametrize("size", [(30, 20), (20, 30)])
def test_to_square_crops_the_centre(size):
    image = Image.new("RGB", size, RED)
    side = min(size)
    left, top = (size[0] - side) // 2, (size[1] - side) // 2
    image.paste(BLUE, (left, top, left + side, top + side))  # the centre square is blue
    for target in (side, 10, 40):
        square = to_square(image, target)
        assert square.size == (target, target)
        assert set(pixels(square)[0]) == {BLUE}  # nothing of the red margins survives


def test_tensor_round_trip():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
    t = image_to_tensor(image)
    assert t.shape == (3, 5, 7) and t.dtype == torch.float32
    assert 0.0 <= t.min() and t.max() <= 1.0
    assert pixels(tensor_to_image(t)) == pixels(image)


def test_tensor_to_image_clamps():
    t = torch.tensor([-1.0, 0.5, 2.0]).view(3, 1, 1)
    assert pixels(tensor_to_image(t)) == [[(0, 128, 255)]]
    with pytest.raises(ValueError, match="NaN"):
        tensor_to_image(torch.full((3, 1, 1), float("nan")))


def test_save_png_atomic(tmp_path):
    path = tmp_path / "out" / "a.png"
    save_png_atomic(red_blue(), path)
    save_png_atomic(Image.new("RGB", (3, 3), BLUE), path)  # replaces the old file
    assert pixels(load_image(path))[0] == [BLUE] * 3
    assert [p.name for p in path.parent.iterdir()] == ["a.png"]  # no temp files left
