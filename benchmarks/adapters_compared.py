"""Which method learns a style from one image? StyleDrop, LoRA, AdaIN, shared attention, a full fine-tune.

For each held-out style, one reference image, the watermelon drawn in that style (from the
dataset, as `benchmarks/one_image_styles.py` picks it), captioned by the demo's rule
("A watermelon in fluent flat outlined style" for OpenMoji color: `styledrop.demo.DESCRIPTORS`;
`--descriptor '[V]'` gives the rare-token caption of the earlier table). Each method learns from
it, or reads it, and draws the same eight contents that the demo does not draw, in the same style
words, with the same seeds:

    styledrop rank 4 shared        the paper's round-1 adapter (the demo's recipe: 300 steps, batch 8)
    styledrop rank 32 unshared     the paper's round-2 adapter size, trained on the one image
    lora rank 4                    peft LoRA on the attention projections
    adain                          learned q/k statistics in every self-attention (adapters/adain.py)
    shared attention               training-free, StyleAligned (`generate --style-image`)
    full fine-tune                 every weight of the transformer: an upper reference, NOT an adapter

Sweep (every setting is in results.json): learning rates per trained method (LRS) by style scales
lambda_A (STYLE_SCALES, 0 being the demo's), at the demo's content scale; for shared attention, its weight (SHARE_SCALES) by lambda_A. A setting is
chosen on selection images (one per content, seeds 1000+) by style accuracy + content top-1 -
leakage (the question: the style *with* the content; ties by text score), and the chosen one is
then judged on other images (two per content, seeds 0-15), so no row is picked on the images it
is scored on. Reported per row: style accuracy, content top-1, leakage, text score, KID against
the style's real images (EfficientNet-Lite0 features; absent without the dataset), trainable
parameters, training seconds and sampling seconds per image on this machine.

Writes results.json and grid-STYLE.png (a row per method at its chosen setting, the reference in
the top-left corner) under --out and prints a markdown table.

    .venv/bin/python benchmarks/adapters_compared.py [--base DIR] [--styles ...] [--descriptor WORDS] [--out runs/adapters-compared]
    .venv/bin/python benchmarks/adapters_compared.py --quick      # one style, one setting each, short runs
    .venv/bin/python benchmarks/adapters_compared.py --table A/results.json B/results.json   # runs split by style
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from styledrop.adapters.io import load_adapter_file
from styledrop.base import load_base
from styledrop.bundled import default_base
from styledrop.captions import style_caption
from styledrop.demo import DESCRIPTORS, REFERENCE_CONTENT, SAMPLE, TRAIN
from styledrop.evaluation.cli import score_folder
from styledrop.evaluation.realism import kid_to_real, real_features, real_records
from styledrop.evaluation.runs import summarise
from styledrop.evaluation.scorers import Scorers
from styledrop.generation import StyleImage, generate_to_folder, slug
from styledrop.grid import make_grid
from styledrop.images import image_to_tensor, load_image, to_square
from styledrop.pipeline import sampler_settings
from styledrop.training.loop import TrainConfig, train_adapter
from styledrop.world.manifest import load_manifest
from styledrop.world.styles import HELDOUT_STYLES

CONTENTS = ["frog", "umbrella", "guitar", "pineapple", "bicycle", "snowman", "mushroom", "owl"]  # not the demo's
STYLE_SCALES = (0.0, 0.5, 1.0)  # lambda_A
SHARE_SCALES = (0.5, 1.0, 1.5)  # --style-image-scale
SELECT = {"num_images": 1, "seed": 1000}  # selection images: one per content
JUDGE = {"num_images": 2, "seed": 0}  # the reported images: two per content, other seeds
KEYS = ["style_accuracy", "content_accuracy", "content_leakage", "text_score"]


@dataclass(frozen=True)
class Method:
    name: str
    train: TrainConfig | None  # None: training-free (shared attention)
    lrs: tuple[float, ...] = ()


METHODS = [
    Method("styledrop rank 4 shared", replace(TRAIN, rank=4, shared=True), (3e-4, 1e-3, 3e-3)),
    Method("styledrop rank 32 unshared", replace(TRAIN, rank=32, shared=False), (3e-4, 1e-3)),
    Method("lora rank 4", replace(TRAIN, adapter_kind="lora", rank=4), (3e-4, 1e-3, 3e-3)),
    Method("adain", replace(TRAIN, adapter_kind="adain"), (1e-3, 1e-2, 3e-2)),
    Method("shared attention (training-free)", None),
    Method("full fine-tune (not an adapter)", replace(TRAIN, adapter_kind="full"), (3e-5, 1e-4)),
]


def merit(row: dict) -> tuple[float, float]:
    """How a setting is chosen: style accuracy + content top-1 - leakage, then text score."""
    return row["style_accuracy"] + row["content_accuracy"] - row["content_leakage"], row["text_score"]


class Judge:
    """Draws one setting's images into a folder and scores them against the style's reference."""

    def __init__(self, base, style: str, words: str, reference: Path, scorers, reals: torch.Tensor | None,
                 sample: dict):
        self.base, self.style, self.reference, self.scorers, self.reals = base, style, reference, scorers, reals
        self.words, self.prompts = words, [style_caption(c, words) for c in CONTENTS]
        self.sample = sample

    def draw(self, folder: Path, setting: dict, source, images: dict) -> tuple[dict, list[Image.Image], float]:
        config = sampler_settings(self.base, overrides=self.sample | images | setting)
        kwargs = {"style_image": source} if isinstance(source, StyleImage) else {"style": load_adapter_file(source)}
        start = time.perf_counter()
        generate_to_folder(self.base, self.prompts, config, folder, show_progress=False, **kwargs)
        seconds = time.perf_counter() - start
        record = json.loads((folder / "generation.json").read_text())
        pairs = [(folder / r["file"], r["prompt"]) for r in record["images"]]
        row = summarise(score_folder(pairs, self.reference, self.scorers, REFERENCE_CONTENT, style_words=self.words),
                        self.style)
        drawn = [Image.open(path).convert("RGB") for path, _ in pairs]
        return row, drawn, seconds / len(pairs)

    def kid(self, drawn: list[Image.Image]) -> dict | None:
        if self.reals is None:
            return None
        return kid_to_real(drawn, self.reals, device=self.base.device, generator=torch.Generator().manual_seed(0)).to_json()


def candidates(method: Method, base, pixels, words: str, work: Path, reference: Path, quick: bool, steps: int | None):
    """(setting label, sampler fields, source, trained parameters, training seconds) for every setting."""
    style_scales = STYLE_SCALES[1:2] if quick else STYLE_SCALES
    caption = style_caption(REFERENCE_CONTENT, words)
    if method.train is None:
        source = StyleImage(reference, load_image(reference), caption)
        shares = (1.0,) if quick else SHARE_SCALES
        return [(f"share {w:g}, lambda_A {a:g}", {"style_image_scale": w, "style_scale": a}, source, 0, 0.0)
                for w in shares for a in style_scales]
    lrs = method.lrs[len(method.lrs) // 2 :][:1] if quick else method.lrs
    out = []
    for lr in lrs:
        recipe = replace(method.train, lr=lr, **({"steps": steps, "checkpoint_every": steps} if steps else {}))
        file = work / f"lr-{lr:g}.safetensors"
        start = time.perf_counter()
        result = train_adapter(base, pixels, [caption], recipe, file, style_descriptor=words, show_progress=False)
        seconds = time.perf_counter() - start
        out += [(f"lr {lr:g}, lambda_A {a:g}", {"style_scale": a}, file, result.trainable_parameters, seconds)
                for a in style_scales]
    return out


def labelled_grid(rows: list[tuple[str, list[Image.Image]]], reference: Image.Image) -> Image.Image:
    """A row per method (its name above the sheet, in row order), the reference in the top-left cell."""
    blank = Image.new("RGB", reference.size, "white")
    sheet = make_grid([[reference if i == 0 else blank, *images] for i, (_, images) in enumerate(rows)], min_cell=64)
    header = 14 * (len(rows) + 1)
    labelled = Image.new("RGB", (sheet.width, sheet.height + header), "white")
    labelled.paste(sheet, (0, header))
    draw = ImageDraw.Draw(labelled)
    draw.text((4, 2), "reference (top left) | " + ", ".join(CONTENTS), fill="black")
    for i, (name, _) in enumerate(rows):
        draw.text((4, 2 + 14 * (i + 1)), f"row {i + 1}: {name}", fill="black")
    return labelled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=default_base())
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--styles", nargs="+", choices=HELDOUT_STYLES, help="default: all three (--quick: the first)")
    parser.add_argument("--methods", nargs="+", choices=[m.name for m in METHODS], help="default: all")
    parser.add_argument("--quick", action="store_true", help="one style, one setting per method, 30 training steps, "
                        "8 decoding steps, one image per content: checks the script end to end (numbers meaningless)")
    parser.add_argument("--descriptor", help="the captions' style words for every style (default: the demo's rule, "
                        "styledrop.demo.DESCRIPTORS; '[V]': the rare-token caption)")
    parser.add_argument("--out", type=Path, default=Path("runs/adapters-compared"))
    parser.add_argument("--table", type=Path, nargs="+", metavar="RESULTS",
                        help="only print the table of these results.json files (runs split by --styles), merged")
    args = parser.parse_args()
    if args.table:
        merged = [json.loads(Path(f).read_text()) for f in args.table]
        print_table(merged[0] | {"styles": {k: v for r in merged for k, v in r["styles"].items()},
                                 "descriptors": {k: v for r in merged for k, v in r.get("descriptors", {}).items()}})
        return
    styles = args.styles or list(HELDOUT_STYLES[:1] if args.quick else HELDOUT_STYLES)
    methods = [m for m in METHODS if args.methods is None or m.name in args.methods]
    steps, sample = (30, SAMPLE | {"steps": 8}) if args.quick else (None, SAMPLE)
    judge_images = SELECT | {"seed": JUDGE["seed"]} if args.quick else JUDGE
    base, scorers = load_base(args.base), Scorers.load()
    records = {(r.style, r.caption): r for r in load_manifest(args.data)}
    words = {style: args.descriptor or DESCRIPTORS[style] for style in styles}
    results = {"base": str(args.base), "contents": CONTENTS, "descriptors": words, "quick": args.quick,
               "selection": "style_accuracy + content_accuracy - content_leakage, then text_score, on selection images",
               "select_images": SELECT, "judge_images": judge_images, "sample": sample, "styles": {}}
    for style in styles:
        reference = records[(style, REFERENCE_CONTENT)].paths[base.resolution]
        pixels = image_to_tensor(to_square(load_image(reference), base.resolution))[None]
        real, why_not = real_records(args.data, style, base.resolution)
        reals = real_features(real, base.resolution, base.device) if real is not None else None
        judge = Judge(base, style, words[style], reference, scorers, reals, sample)
        entry = results["styles"][style] = {"reference": str(reference), "kid": why_not or "vs all real images of the style",
                                            "sweep": [], "best": {}}
        rows = []
        for method in methods:
            work = args.out / style / slug(method.name)
            options = candidates(method, base, pixels, words[style], work, reference, args.quick, steps)
            if len(options) > 1:  # choose on the selection images
                for index, (label, setting, source, params, train_s) in enumerate(options):
                    row, _, _ = judge.draw(work / f"select-{index}", setting, source, SELECT)
                    entry["sweep"].append({"method": method.name, "setting": label, **{k: row[k] for k in KEYS}})
                    print(f"{style} | {method.name} | {label}: " + ", ".join(f"{k} {row[k]:.3f}" for k in KEYS), flush=True)
                scored = [s for s in entry["sweep"] if s["method"] == method.name]
                label, setting, source, params, train_s = options[max(range(len(options)), key=lambda i: merit(scored[i]))]
            else:
                label, setting, source, params, train_s = options[0]
            row, drawn, per_image = judge.draw(work / "judged", setting, source, judge_images)
            entry["best"][method.name] = {"setting": label, **{k: row[k] for k in KEYS}, "kid": judge.kid(drawn),
                                          "trainable_parameters": params, "train_seconds": round(train_s, 1),
                                          "sample_seconds_per_image": round(per_image, 3), "scores": row}
            rows.append((method.name, drawn[:: judge_images["num_images"]]))
            print(f"{style} | {method.name} | chosen {label}: " + ", ".join(f"{k} {row[k]:.3f}" for k in KEYS), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        labelled_grid(rows, load_image(reference)).save(args.out / f"grid-{style}.png")
        (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print_table(results)


def print_table(results: dict) -> None:
    print(f"\nbase {results['base']}; reference: the {REFERENCE_CONTENT} of each style; contents: {', '.join(CONTENTS)}"
          f"{'; QUICK MODE (smoke run: numbers meaningless)' if results['quick'] else ''}")
    words = {style: "[V]" for style in results["styles"]} | results.get("descriptors", {})  # "[V]": runs before the rule
    print("captions: " + "; ".join(f"{style}: \"{style_caption(REFERENCE_CONTENT, words[style])}\""
                                   for style in results["styles"]))
    print("| style | method | chosen setting | style accuracy | content top-1 | leakage | text score | KID "
          "| trainable parameters | training s | s / image |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for style, entry in results["styles"].items():
        for name, row in entry["best"].items():
            kid = "absent" if row["kid"] is None else f"{row['kid']['value']:.4f} ± {row['kid']['standard_error']:.4f}"
            print(f"| {style} | {name} | {row['setting']} | " + " | ".join(f"{row[k]:.3f}" for k in KEYS)
                  + f" | {kid} | {row['trainable_parameters']:,} | {row['train_seconds']:.0f} "
                  f"| {row['sample_seconds_per_image']:.2f} |")


if __name__ == "__main__":
    main()
