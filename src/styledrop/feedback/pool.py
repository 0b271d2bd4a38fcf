"""Round 2, step 1: a pool of candidates drawn with the round-1 adapter (paper: 30 x 64).

Prompts come from a file or from `CONTENTS`, a built-in list of varied, drawable contents, each
as "A {content} in {descriptor} style"; contents named in the adapter's own captions (the
reference's content) are left out, since round 2 exists to unlearn them. The style reference is
`--reference` when given, else the one the adapter file recorded when round 1 was trained on it.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path

from PIL import Image

from ..adapters.io import AdapterFile, load_adapter_file
from ..base import BaseModel
from ..captions import style_caption
from ..errors import StyleDropError
from ..files import atomic_write_text
from ..generation import generate_to_folder
from ..images import load_image, save_png_atomic
from ..pipeline import SampleConfig
from .manifest import POOL_FILE, PoolImage, write_manifest

CONTENTS = (
    "cow", "piano", "banana", "house", "cat", "rocket", "tree", "car", "dog", "apple", "bicycle", "guitar",
    "umbrella", "fish", "bird", "mushroom", "airplane", "lemon", "castle", "horse", "pizza", "sailboat",
    "clock", "key", "rabbit", "cactus", "snowman", "teapot", "elephant", "strawberry", "bus", "penguin",
)
IMAGES = "images"


def default_prompts(count: int, descriptor: str, captions: list[str]) -> list[str]:
    """`count` built-in prompts, without the contents that the adapter's captions name."""
    taken = " ".join(captions).lower()
    contents = [c for c in CONTENTS if not re.search(rf"\b{re.escape(c)}s?\b", taken)]
    if count < 1:
        raise StyleDropError(f"--prompts {count}: give 1 or more (the built-in list has {len(contents)} contents)")
    if count > len(contents):
        raise StyleDropError(f"--prompts {count}: the built-in list has {len(contents)} contents; "
                             "pass --prompt-file with your own prompts for more")
    return [style_caption(c, descriptor, article="auto") for c in contents[:count]]


def read_prompt_file(path: Path) -> list[str]:
    if not Path(path).is_file():
        raise StyleDropError(f"prompt file not found: {path}")
    prompts = [line.strip() for line in Path(path).read_text().splitlines() if line.strip() and not line.startswith("#")]
    if not prompts:
        raise StyleDropError(f"{path} has no prompts (one per line; lines starting with # are ignored)")
    return prompts


def pool_reference(adapter: AdapterFile, reference_path: Path | None) -> Image.Image:
    """The image at `reference_path` when given, else the reference recorded in the adapter file."""
    if reference_path is not None:
        return load_image(reference_path)
    recorded = adapter.reference_image()
    if recorded is None:
        raise StyleDropError(f"{adapter.path} records no style reference (adapters written by older styledrop "
                             "versions carry none); pass --reference with the image round 1 was trained on")
    return recorded


def make_pool(base: BaseModel, adapter_path: Path, reference_path: Path | None, prompts: list[str],
              images_per_prompt: int, sampler: SampleConfig, pool: Path, *, show_progress: bool = True
              ) -> list[PoolImage]:
    """Draw `images_per_prompt` images per prompt with the adapter; write the pool folder. The
    reference is `reference_path`, or (None) the one recorded in the adapter file."""
    adapter = load_adapter_file(adapter_path)
    reference = pool_reference(adapter, reference_path)  # checked before the long part
    if (Path(pool) / POOL_FILE).exists():
        raise StyleDropError(f"{pool} already holds a pool; choose another --out or delete it")
    config = SampleConfig(**{**asdict(sampler), "num_images": images_per_prompt})
    generate_to_folder(base, prompts, config, Path(pool) / IMAGES, style=adapter, show_progress=show_progress)
    record = json.loads((Path(pool) / IMAGES / "generation.json").read_text())
    per_prompt: dict[str, int] = {}
    images = []
    for item in record["images"]:
        p = prompts.index(item["prompt"])
        j = per_prompt[item["prompt"]] = per_prompt.get(item["prompt"], -1) + 1
        images.append(PoolImage(id=f"p{p:03d}-i{j:03d}", prompt=item["prompt"], seed=item["seed"],
                                file=f"{IMAGES}/{item['file']}"))
    save_png_atomic(reference, Path(pool) / "reference.png")
    shutil.copyfile(adapter_path, Path(pool) / "parent.safetensors")
    info = {
        "round": int(adapter.lineage.get("round", 1)), "base": {"id": base.name, "hash": base.transformer_hash()},
        "adapter": {"path": str(adapter_path), "copy": "parent.safetensors", "hash": adapter.content_hash()},
        "reference": "reference.png",
        "reference_source": str(reference_path) if reference_path else f"{adapter_path} (recorded in training)",
        "captions": adapter.captions,
        "style_descriptor": adapter.style_descriptor, "prompts": prompts, "images_per_prompt": images_per_prompt,
        "sampler": asdict(config),
    }
    atomic_write_text(Path(pool) / POOL_FILE, json.dumps(info, indent=2))
    write_manifest(pool, images)
    return images
