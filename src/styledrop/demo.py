"""`styledrop demo`: learn a held-out style from ONE image on the bundled base, offline.

1. Train a StyleDrop adapter on the bundled OpenMoji-color watermelon (a style no image of which
   reached the base) with the caption "A watermelon in [V] style".
2. Draw eight other concepts with the base alone ("A cow") and with the adapter ("A cow in [V]
   style"), same seeds.
3. Score both with the bundled scorers (text score, style score, style accuracy = share drawn in
   the reference's style, content accuracy, content leakage) and write grid.png + scores.json.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from PIL import Image, ImageDraw

from .adapters.io import load_adapter_file
from .base import load_base
from .bundled import DEMO_REFERENCE, EMOJI_BASE, default_base
from .files import atomic_write_text
from .generation import generate_to_folder
from .grid import make_grid
from .images import image_to_tensor, load_image, save_png_atomic, to_square
from .pipeline import sampler_settings
from .training.loop import TrainConfig, train_adapter

CONTENTS = ["cow", "piano", "banana", "house", "cat", "rocket", "tree", "car"]
REFERENCE_STYLE, REFERENCE_CONTENT = "openmoji-color", "watermelon"
TRAIN = TrainConfig(steps=300, lr=1e-3, batch_size=8, rank=4, shared=True, checkpoint_every=100, seed=0)
SAMPLE = {"steps": 24, "num_images": 2, "seed": 0, "style_scale": 0.5}  # over the base's sampling.json


def run_demo(out: Path, base_path: str | None = None, train: dict | None = None, sample: dict | None = None
             ) -> dict | None:
    """`train` and `sample` override fields of TRAIN (e.g. steps, lr) and SAMPLE (e.g. style_scale)."""
    if base_path is None and not EMOJI_BASE.is_dir():
        print(f"demo: the bundled emoji-world base ({EMOJI_BASE}) is not in this checkout yet; running the "
              "plumbing demo on a random base instead (its pictures are noise)")
        from .demo_plumbing import run_plumbing_demo

        run_plumbing_demo(out)
        return None
    from .evaluation.cli import score_folder
    from .evaluation.runs import summarise
    from .evaluation.scorers import Scorers

    start = time.time()
    recipe = replace(TRAIN, **(train or {}))
    out.mkdir(parents=True, exist_ok=True)
    base = load_base(base_path or default_base())
    reference = load_image(DEMO_REFERENCE)
    save_png_atomic(reference, out / "reference.png")
    print(f"demo: 1/3 learning the OpenMoji style from {DEMO_REFERENCE.name} ({recipe.steps} steps, lr {recipe.lr:g})")
    pixels = image_to_tensor(to_square(reference, base.resolution))[None]
    train_adapter(base, pixels, [f"A {REFERENCE_CONTENT} in [V] style"], recipe, out / "adapter.safetensors",
                  style_descriptor="[V]")
    adapter = load_adapter_file(out / "adapter.safetensors")

    print(f"demo: 2/3 drawing {len(CONTENTS)} concepts with the base alone and with the adapter")
    plain = [f"A {c}" for c in CONTENTS]
    styled = [f"A {c} in [V] style" for c in CONTENTS]
    sample = sampler_settings(base, overrides=SAMPLE | (sample or {}))
    generate_to_folder(base, plain, sample, out / "base")
    generate_to_folder(base, styled, sample, out / "styledrop", style=adapter)

    print("demo: 3/3 scoring")
    scorers = Scorers.load()
    scores = {}
    for name, prompts in (("base", plain), ("styledrop", styled)):
        record = json.loads((out / name / "generation.json").read_text())
        pairs = [(out / name / r["file"], r["prompt"]) for r in record["images"]]
        result = score_folder(pairs, out / "reference.png", scorers, REFERENCE_CONTENT)
        scores[name] = summarise(result, REFERENCE_STYLE)
    scores["settings"] = {"train": asdict(recipe), "sample": asdict(sample), "base": base.name,
                          "reference": str(DEMO_REFERENCE.relative_to(DEMO_REFERENCE.parents[2]))}
    scores["seconds"] = round(time.time() - start, 1)
    atomic_write_text(out / "scores.json", json.dumps(scores, indent=2))
    save_png_atomic(demo_grid(out, reference), out / "grid.png")
    print_table(scores)
    print(f"demo: done in {scores['seconds']:.0f} s; wrote {out / 'grid.png'} and {out / 'scores.json'}")
    return scores


def demo_grid(out: Path, reference: Image.Image) -> Image.Image:
    """Row 1: the reference, then the base's first image per concept; row 2: blank, then StyleDrop's."""
    def firsts(folder: str) -> list[Image.Image]:
        record = json.loads((out / folder / "generation.json").read_text())
        seen, images = set(), []
        for r in record["images"]:
            if r["prompt"] not in seen:
                seen.add(r["prompt"])
                images.append(Image.open(out / folder / r["file"]).convert("RGB"))
        return images

    side = reference.width
    blank = Image.new("RGB", (side, side), "white")
    sheet = make_grid([[reference, *firsts("base")], [blank, *firsts("styledrop")]], min_cell=96)
    labelled = Image.new("RGB", (sheet.width, sheet.height + 18), "white")
    labelled.paste(sheet, (0, 18))
    ImageDraw.Draw(labelled).text((4, 3), "reference | " + ", ".join(CONTENTS) + "  (top: base, bottom: StyleDrop)",
                                  fill="black")
    return labelled


def print_table(scores: dict) -> None:
    keys = ["text_score", "style_score", "style_accuracy", "content_accuracy", "content_accuracy_top5", "content_leakage"]
    print(f"| {'model':<10} | " + " | ".join(f"{k:>21}" for k in keys) + " |")
    for name in ("base", "styledrop"):
        values = [scores[name][k] for k in keys]
        print(f"| {name:<10} | " + " | ".join(f"{'-' if v is None else f'{v:.3f}':>21}" for v in values) + " |")
