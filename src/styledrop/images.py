"""Reading user images safely, and moving images between PIL and tensors.

`load_image` is the one door through which a user's picture enters the program. It returns an
upright 8-bit RGB image or raises `StyleDropError` naming the file and the fix:

| Input                                        | What `load_image` does                          |
|----------------------------------------------|-------------------------------------------------|
| missing path, a folder, no read permission   | error: "image not found: PATH", "... folder"    |
| symlink loop, FIFO, device (/dev/zero)       | error naming what PATH is instead of a file     |
| not an image (text renamed .png), or a       | error naming the file and `READ_FORMATS`        |
|   format outside `READ_FORMATS` (ICO, PSD)   |                                                 |
| truncated or corrupt file                    | error; the whole image is decoded (`.load()`)   |
| width * height > `MAX_PIXELS`, read from the | error with the size, the limit and "resize it   |
|   header before decoding; PIL's own          |   first"                                        |
|   DecompressionBombWarning / Error           |                                                 |
| EXIF orientation tag                         | applied (`ImageOps.exif_transpose`): upright    |
| grayscale "L", bilevel "1"                   | converted to RGB                                |
| transparency: RGBA, LA, PA, and P, L or RGB  | composited over WHITE (emoji backgrounds are    |
|   with a transparent colour                  |   white), then RGB                              |
| 16-bit "I;16", "I;16B", "I;16L", "I;16N"     | value / 257 (65535 -> 255)                      |
| 32-bit integer "I"                           | taken as 16-bit data if 0 <= values <= 65535,   |
|                                              |   / 257; other ranges are refused (no guessing) |
| 32-bit float "F"                             | [0, 1] if max <= 1 (x 255), else [0, 255];      |
|                                              |   clipped, NaN -> 0                             |
| 16-bit RGB PNG                               | Pillow opens it as 8-bit RGB already: kept      |
| CMYK, YCbCr, LAB, HSV, other modes           | `convert("RGB")`                                |
| animated GIF / WebP / APNG                   | the first frame                                 |

Pillow's globals (`ImageFile.LOAD_TRUNCATED_IMAGES`, `Image.MAX_IMAGE_PIXELS`, warning filters)
are only read here, never set: a truncated image must fail, not come back half grey.
"""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import StyleDropError
from .files import atomic_path

MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (decompression-bomb guard)
READ_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")  # what Image.open may try
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_WHITE = (255, 255, 255, 255)


def load_image(path: str | Path) -> Image.Image:
    """Open a user image and return it as 8-bit RGB, or raise StyleDropError naming the file."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone in this process set a Pillow global; truncated files would decode silently.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; load_image needs it False")
    path = Path(path)
    image = _open_and_decode(path)
    image = ImageOps.exif_transpose(image)  # before any conversion: TIFF EXIF lives in its tags
    return to_rgb8(image, path)


def _open_and_decode(path: Path) -> Image.Image:
    """Open `path`, check its size from the header, then decode the first frame fully."""
    try:
        mode = path.stat().st_mode  # follows symlinks; never opens, so a FIFO cannot block here
    except FileNotFoundError:
        broken = f" (a broken symlink to {path.readlink()})" if path.is_symlink() else ""
        raise StyleDropError(f"image not found: {path}{broken}; check the path") from None
    except OSError as err:  # e.g. a symlink loop
        raise StyleDropError(f"cannot open image {path}: {err.strerror}; pass an image file") from None
    if stat.S_ISDIR(mode):
        raise StyleDropError(f"image path is a folder, not a file: {path}; pass an image file")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket")
        raise StyleDropError(f"image path is {kind}, not a regular file: {path}; pass an image file")
    formats = ", ".join(READ_FORMATS)
    with warnings.catch_warnings():
        # Only inside this block, and only this warning: PIL's bomb warning becomes an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with open(path, "rb") as file:
                image = Image.open(file, formats=READ_FORMATS)
                _check_pixels(image.size, path)  # header only: nothing decoded yet
                image.seek(0)  # animated images: the first frame
                image.load()  # full decode, so truncated files fail here and not later
                return image
        except PermissionError as err:
            raise StyleDropError(
                f"cannot read image {path}: permission denied; fix its permissions"
            ) from err
        except UnidentifiedImageError as err:
            raise StyleDropError(
                f"not an image we can read: {path}; save it as one of {formats}"
            ) from err
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise StyleDropError(f"image too large: {path} ({err}); resize it first") from err
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise StyleDropError(
                f"cannot decode image {path}: {err}; the file looks truncated or damaged, "
                f"export it again as one of {formats}"
            ) from err


def _check_pixels(size: tuple[int, int], path: Path) -> None:
    """Refuse images above MAX_PIXELS, from the header's size alone."""
    width, height = size
    if width * height > MAX_PIXELS:
        raise StyleDropError(
            f"image too large: {path} is {width}x{height} = {width * height:,} pixels, "
            f"above the limit of {MAX_PIXELS:,}; resize it first"
        )


def to_rgb8(image: Image.Image, path: Path | str = "the image") -> Image.Image:
    """Bring any decoded Pillow mode to 8-bit RGB, following the table in the module docstring;
    transparency is composited on white. `path` names the image in errors."""
    if image.mode in _SIXTEEN_BIT_MODES or image.mode in ("I", "F"):
        image = _high_depth_to_l(image, path)
    if image.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")  # P, L and RGB use info["transparency"] here
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
    if image.mode == "RGB":
        return image
    try:
        return image.convert("RGB")
    except ValueError as err:
        raise StyleDropError(
            f"cannot convert image {path} from colour mode {image.mode!r} to RGB; save it as RGB"
        ) from err


def _high_depth_to_l(image: Image.Image, path: Path) -> Image.Image:
    """Scale 16-bit, 32-bit integer and float grayscale to 8-bit "L" by the mode's value range."""
    values = np.asarray(image)
    if image.mode in _SIXTEEN_BIT_MODES:
        scaled = values.astype(np.float64) / 257.0  # 65535 / 257 = 255 exactly
    elif image.mode == "I":
        low, high = int(values.min()), int(values.max())
        if low < 0 or high > 65535:
            raise StyleDropError(
                f"cannot read image {path}: 32-bit integer values in [{low}, {high}] are outside "
                "the 16-bit range [0, 65535]; save it as 8- or 16-bit"
            )
        scaled = values.astype(np.float64) / 257.0
    else:  # "F"
        values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        scaled = values * 255.0 if values.max() <= 1.0 else values
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))  # "L"


def to_square(image: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize to size x size (LANCZOS for downscaling, NEAREST-free)."""
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    # Crop first: `resize(box=...)` would let the filter read pixels outside the box.
    square = image.crop((left, top, left + side, top + side))
    if side == size:
        return square
    # LANCZOS when shrinking (least aliasing); BICUBIC when enlarging (less ringing on flat emoji).
    resample = Image.Resampling.LANCZOS if side > size else Image.Resampling.BICUBIC
    return square.resize((size, size), resample=resample)


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB image as a (3, H, W) float32 tensor in [0, 1]."""
    if image.mode != "RGB":
        raise ValueError(f"expected an RGB image, got mode {image.mode!r}; use load_image first")
    array = np.asarray(image, dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()  # (3, H, W)


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """A (3, H, W) tensor in [0, 1] as an RGB image; values outside [0, 1] are clamped."""
    if t.ndim != 3 or t.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) tensor, got shape {tuple(t.shape)}")
    t = t.detach().to("cpu", torch.float32)
    if not torch.isfinite(t).all():
        raise ValueError("tensor has NaN or infinite values; cannot turn it into an image")
    array = (t.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0)  # (H, W, 3)
    return Image.fromarray(array.numpy())  # "RGB"


def save_png_atomic(image: Image.Image, path: Path) -> None:
    """Write `image` as PNG to `path` via a temp file in the same folder and `os.replace`.

    A reader never sees a half-written file: either the old one or the new one. The folder is
    created if missing.
    """
    with atomic_path(Path(path)) as temp:
        image.save(temp, format="PNG")
