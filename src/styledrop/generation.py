"""Generate images into a folder: one PNG per image, a grid, and `generation.json` that holds
everything needed to redraw each image (base, adapters or style image, sampler settings, prompt
and seed).

A `StyleImage` instead of adapters draws with training-free shared attention to it
(`adapters/shared_attention.py`): the image is tokenized once and runs as the batch's last row.

The folder is checked before sampling; if a write fails (a full disk), the files this call wrote
are removed again, so no folder is left with images that no `generation.json` describes."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from . import __version__
from .adapters.base import ReferenceRow
from .adapters.io import AdapterFile, attach_adapter_file, png_bytes
from .adapters.shared_attention import SharedAttention
from .base import BaseModel
from .errors import StyleDropError
from .files import atomic_write_text, check_writable_folder
from .grid import make_grid
from .images import image_to_tensor, save_png_atomic, to_square
from .pipeline import Generated, SampleConfig, StyleDropPipeline

RECORD = "generation.json"


def slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit] or "image"


@dataclass(frozen=True)
class StyleImage:
    """The reference of training-free shared attention: an image and its caption ('A watermelon in [V] style')."""

    path: Path
    image: Image.Image  # RGB, any size (centre-cropped to the base's resolution)
    caption: str

    def square_png(self, size: int) -> bytes:
        return png_bytes(to_square(self.image, size))


def refuse_style_image_with_adapter(path: Path) -> None:
    raise StyleDropError(f"--style-image {path} is training-free shared attention and runs without an adapter; "
                         "drop --adapter, or drop --style-image to draw with the adapter")


def reference_row(base: BaseModel, style_image: StyleImage) -> ReferenceRow:
    """The style image's tokens, once, at the base's resolution."""
    pixels = image_to_tensor(to_square(style_image.image, base.resolution))[None].to(base.device)  # (1, 3, H, W)
    return ReferenceRow(base.image_tokenizer.encode(pixels).flatten(), style_image.caption)


def generate_to_folder(base: BaseModel, prompts: list[str], config: SampleConfig, out: Path, *,
                       style: AdapterFile | None = None, subject: AdapterFile | None = None,
                       style_image: StyleImage | None = None, show_progress: bool = True) -> list[Generated]:
    if not prompts or any(not p.strip() for p in prompts):
        raise StyleDropError("every --prompt must be a non-empty text, e.g. --prompt 'A cow in [V] style'")
    if style_image is not None and (style or subject):
        refuse_style_image_with_adapter(style_image.path)
    full = [f for f in (style, subject) if f is not None and f.config.kind == "full"]
    if full and style is not None and subject is not None:
        raise StyleDropError(f"{full[0].path} is a full fine-tune (not an adapter), which cannot pair with a second "
                             "--adapter; give it as the only --adapter")
    check_writable_folder(out)
    attached = []
    try:
        if style_image is not None:
            style_adapter = SharedAttention(reference_row(base, style_image), config.style_image_scale)
            style_adapter.attach(base.transformer)
        else:
            style_adapter = attach_adapter_file(base, style, "style") if style else None
        attached += [style_adapter] if style_adapter else []
        subject_adapter = attach_adapter_file(base, subject, "subject") if subject else None
        attached += [subject_adapter] if subject_adapter else []
        pipe = StyleDropPipeline(base, style_adapter, subject_adapter, style.style_descriptor if style else "")
        results = pipe.generate(prompts, config, show_progress=show_progress)
    finally:
        for adapter in attached:
            adapter.detach()

    names = [f"{index:04d}-{slug(item.prompt)}-s{item.seed}.png" for index, item in enumerate(results)]
    rows = [[r.image for r in results[i : i + config.num_images]] for i in range(0, len(results), config.num_images)]
    record = {
        "styledrop_version": __version__,
        "base": {"id": base.name, "hash": base.transformer_hash()},
        "adapters": {role: {"path": str(f.path), "hash": f.content_hash(), "base_hash": f.base_hash,
                            "style_descriptor": f.style_descriptor}
                     for role, f in (("style", style), ("subject", subject)) if f is not None},
        **({"style_image": {"path": str(style_image.path), "caption": style_image.caption,
                            "sha256": hashlib.sha256(style_image.square_png(base.resolution)).hexdigest()[:16]}}
           if style_image is not None else {}),
        "sampler": asdict(config),
        "grid": {"file": "grid.png", "rows": "prompts", "columns": "images per prompt"},
        "images": [{"file": name, "prompt": item.prompt, "seed": item.seed} for item, name in zip(results, names)],
    }
    images = {name: item.image for item, name in zip(results, names)} | {"grid.png": make_grid(rows)}
    earlier = recorded_images(out)
    written: list[Path] = []
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        for name, image in images.items():
            save_png_atomic(image, out / name)
            written.append(out / name)
        atomic_write_text(out / RECORD, json.dumps(record, indent=2))
    except StyleDropError as err:  # e.g. a full disk: leave no images that no record describes
        for path in written:
            path.unlink(missing_ok=True)
        if created and not any(out.iterdir()):
            out.rmdir()
        raise StyleDropError(f"{err} (removed the {len(written)} images written before it)") from err
    for name in earlier - images.keys():  # an earlier run's drawings that this record no longer describes
        (out / name).unlink(missing_ok=True)
    return results


def recorded_images(folder: Path) -> set[str]:
    """The image files that the generation.json in `folder` names (none without a readable one)."""
    try:
        record = json.loads((folder / RECORD).read_text())
        return {Path(r["file"]).name for r in record["images"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()
