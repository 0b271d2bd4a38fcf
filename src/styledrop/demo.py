"""`styledrop demo`: learn a held-out style from ONE image on the bundled base, offline.

1. Train a StyleDrop adapter on the bundled OpenMoji-color watermelon (a style no image of which
   reached the base) with the caption "A watermelon in fluent flat outlined style" (style words
   the base knows, as the paper describes the style briefly; `descriptor="[V]"` for a rare token).
2. Draw eight other concepts with the base alone ("A cow") and with the adapter ("A cow in fluent
   flat outlined style"), same seeds.
3. Score both with the bundled scorers (text score, style score, style accuracy = share drawn in
   the reference's style, content accuracy, content leakage) and write grid.png + scores.json.
   When the emoji dataset is at hand (`data`, default data/emoji), also KID of both rows against
   its real OpenMoji-color images; without it, scores.json says why KID is absent.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from .adapters.io import load_adapter_file
from .base import load_base
from .bundled import DEMO_REFERENCE, MODELS, default_base, require
from .captions import style_caption
from .files import atomic_write_text
from .generation import generate_to_folder
from .grid import make_grid
from .images import image_to_tensor, load_image, save_png_atomic, tensor_to_image, to_square
from .pipeline import sampler_settings
from .training.loop import TrainConfig, train_adapter

CONTENTS = ["cow", "piano", "banana", "house", "cat", "rocket", "tree", "car"]
REFERENCE_STYLE, REFERENCE_CONTENT = "openmoji-color", "watermelon"
# The recipe, measured on this reference (README, "The demo"): a caption whose style words the base
# knows ("fluent flat outlined": a flat set's words and the variant word `styledrop describe` ranks
# first for the reference) and content guidance 1 let a gentle adapter bring in the outlines without
# painting every object in the watermelon's colours.
DESCRIPTOR = "fluent flat outlined"
# The same rule for each held-out style's reference (the benchmarks apply it): the flat set's words
# and the variant word `styledrop describe` ranks first for the style's watermelon on this base.
DESCRIPTORS = {"openmoji-color": DESCRIPTOR, "openmoji-black": "fluent flat line art",
               "fluent-high-contrast": "fluent flat silhouette"}
TRAIN = TrainConfig(steps=300, lr=3e-4, batch_size=8, rank=4, shared=True, checkpoint_every=100, seed=0)
SAMPLE = {"steps": 24, "num_images": 2, "seed": 0, "style_scale": 0.0, "content_scale": 1.0}  # over sampling.json
DEFAULT_DATA = Path("data/emoji")  # `styledrop data emoji --out data/emoji`: the real images KID compares to


def run_demo(out: Path, base_path: str | None = None, train: dict | None = None, sample: dict | None = None,
             data: Path | None = None, descriptor: str = DESCRIPTOR) -> dict:
    """`train` and `sample` override fields of TRAIN (e.g. steps, lr) and SAMPLE (e.g. style_scale);
    `data` is the dataset folder whose real images KID compares to (default DEFAULT_DATA); `descriptor`
    the style words of the caption and prompts ("[V]": a rare token, no words)."""
    from .evaluation.cli import score_folder
    from .evaluation.runs import summarise
    from .evaluation.scorers import Scorers

    start = time.time()
    recipe = replace(TRAIN, **(train or {}))
    base = load_base(base_path or default_base())  # without the bundled base: an error saying how to get it
    reference = load_image(require(DEMO_REFERENCE))
    out.mkdir(parents=True, exist_ok=True)
    save_png_atomic(reference, out / "reference.png")
    print(f"demo: 1/3 learning the OpenMoji style from {DEMO_REFERENCE.name} ({recipe.steps} steps, lr {recipe.lr:g})")
    pixels = image_to_tensor(to_square(reference, base.resolution))[None]
    train_adapter(base, pixels, [style_caption(REFERENCE_CONTENT, descriptor)], recipe, out / "adapter.safetensors",
                  style_descriptor=descriptor)
    adapter = load_adapter_file(out / "adapter.safetensors")

    print(f"demo: 2/3 drawing {len(CONTENTS)} concepts with the base alone and with the adapter")
    plain = [f"A {c}" for c in CONTENTS]
    styled = [style_caption(c, descriptor) for c in CONTENTS]
    sample = sampler_settings(base, overrides=SAMPLE | (sample or {}))
    generate_to_folder(base, plain, sample, out / "base")
    generate_to_folder(base, styled, sample, out / "styledrop", style=adapter)

    print("demo: 3/3 scoring")
    scorers = Scorers.load()
    scores = {}
    for name, prompts in (("base", plain), ("styledrop", styled)):
        record = json.loads((out / name / "generation.json").read_text())
        # the text score reads the content prompt, "A cow": style words name a look, not what is drawn
        pairs = [(out / name / r["file"], r["prompt"]) for r in record["images"]]
        result = score_folder(pairs, out / "reference.png", scorers, REFERENCE_CONTENT, style_words=descriptor)
        scores[name] = summarise(result, REFERENCE_STYLE)
    scores["kid"] = realism(out, DEFAULT_DATA if data is None else data, base.resolution, base.device,
                            [c for c in CONTENTS for _ in range(sample.num_images)], base.image_tokenizer)
    scores["settings"] = {"train": asdict(recipe), "sample": asdict(sample), "base": base.name, "descriptor": descriptor,
                          "reference": str(DEMO_REFERENCE.relative_to(MODELS.parent))}
    scores["seconds"] = round(time.time() - start, 1)
    atomic_write_text(out / "scores.json", json.dumps(scores, indent=2))
    save_png_atomic(demo_grid(out, reference), out / "grid.png")
    print_table(scores)
    print_kid(scores["kid"])
    print(f"demo: done in {scores['seconds']:.0f} s; wrote {out / 'grid.png'} and {out / 'scores.json'}")
    return scores


def realism(out: Path, data: Path, size: int, device, contents: list[str] | None = None, tokenizer=None) -> dict:
    """KID of the base's and StyleDrop's drawings to the dataset's real images of the reference's
    style (EfficientNet-Lite0 features), with the real-against-real floor; or why it is absent.

    For scale, `contents` (one entry per drawn image: the concepts, as often as the rows draw them)
    adds the KID of the real images of those concepts ("real_contents": what a perfect drawing of
    these prompts reads) and, with the base's `tokenizer`, of the same images through it
    ("tokenized_contents": the best any drawing of this base can read)."""
    from .evaluation.realism import kid_to_real, real_features, real_floor, real_records

    records, why_not = real_records(data, REFERENCE_STYLE, size)
    entry = {"reference_style": REFERENCE_STYLE, "features": "EfficientNet-Lite0 (ImageNet), 224 px"}
    if records is None:
        return entry | {"absent": why_not}
    reals = real_features(records, size, device)
    entry |= {"data": str(data), "real_images": len(records), "size": size}
    for name in ("base", "styledrop"):
        record = json.loads((out / name / "generation.json").read_text())
        drawn = [Image.open(out / name / r["file"]).convert("RGB") for r in record["images"]]
        entry[name] = kid_to_real(drawn, reals, device=device, generator=torch.Generator().manual_seed(0)).to_json()
    entry["real_floor"] = real_floor(reals, torch.Generator().manual_seed(0)).to_json()
    by_caption = {r.caption: r for r in records}
    if contents and all(c in by_caption for c in contents):
        same = [Image.open(by_caption[c].paths[size]).convert("RGB") for c in contents]
        entry["real_contents"] = kid_to_real(same, reals, device=device,
                                             generator=torch.Generator().manual_seed(0)).to_json()
        if tokenizer is not None:
            pixels = torch.stack([image_to_tensor(image) for image in same]).to(device)
            through = tokenizer.decode(tokenizer.encode(pixels)).cpu()
            entry["tokenized_contents"] = kid_to_real([tensor_to_image(t) for t in through], reals, device=device,
                                                      generator=torch.Generator().manual_seed(0)).to_json()
    return entry


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


def print_kid(entry: dict) -> None:
    if "absent" in entry:
        print(f"KID to real {entry['reference_style']} images: absent ({entry['absent']})")
        return
    row = " | ".join(f"{name} {entry[name]['value']:.5f} ± {entry[name]['standard_error']:.5f}"
                     for name in ("base", "styledrop", "real_contents", "tokenized_contents", "real_floor")
                     if name in entry)
    print(f"KID to {entry['real_images']} real {entry['reference_style']} images of {entry['data']} (real_contents: "
          f"the real images of the drawn concepts; tokenized_contents: the same through the base's tokenizer; "
          f"real_floor: two halves of the reals): {row}")
