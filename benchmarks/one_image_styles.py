"""The demo's recipe on each held-out style: one reference image, new contents, the bundled scorers.

For each held-out style, the watermelon drawn in that style (from the dataset; for OpenMoji color
the demo's own reference) trains one round-1 adapter with the demo's recipe; it then draws eight
contents that are not the demo's (two seeds each) and the scorers read style accuracy (share drawn
in the reference's set), content top-1 / top-5 and leakage. The caption's style words follow the
demo's rule for each reference (`styledrop.demo.DESCRIPTORS`; `--descriptor` changes them, `--base-row` also draws the
base alone on the same prompts). `--train` / `--sample` override fields
of the demo's recipe (`--train lr=1e-3 steps=200 --sample content_scale=0`), and `--style-scales`
draws with each lambda_A from the same adapter, so a sweep is a loop over this script; the table
says which recipe it ran. Writes results.json and grid.png (a row per style and scale, the
reference first) under --out.

    .venv/bin/python benchmarks/one_image_styles.py [--base DIR] [--styles ...] [--contents demo]
        [--descriptor auto | WORDS | STYLE=WORDS ...] [--base-row] [--train KEY=VALUE ...] [--sample KEY=VALUE ...] [--style-scales 0.5 1]
        [--out runs/one-image-styles]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, fields, replace
from pathlib import Path

from PIL import Image

from styledrop.adapters.io import load_adapter_file
from styledrop.base import load_base
from styledrop.bundled import default_base
from styledrop.captions import style_caption
from styledrop.demo import CONTENTS as DEMO_CONTENTS
from styledrop.demo import DESCRIPTORS, REFERENCE_CONTENT, SAMPLE, TRAIN
from styledrop.describe import base_style_words, rank_descriptors
from styledrop.evaluation.cli import score_folder
from styledrop.evaluation.runs import summarise
from styledrop.evaluation.scorers import Scorers
from styledrop.generation import generate_to_folder
from styledrop.grid import make_grid
from styledrop.images import image_to_tensor, load_image, to_square
from styledrop.pipeline import sampler_settings
from styledrop.training.loop import train_adapter
from styledrop.world.manifest import load_manifest
from styledrop.world.styles import HELDOUT_STYLES

EVAL_CONTENTS = ["frog", "umbrella", "guitar", "pineapple", "bicycle", "snowman", "mushroom", "owl"]
KEYS = ["style_accuracy", "content_accuracy", "content_accuracy_top5", "content_leakage", "text_score"]


def parse_overrides(items: list[str], known: set[str], what: str) -> dict:
    overrides = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in known or not value:
            raise SystemExit(f"{what} {item!r}: give KEY=VALUE with KEY one of {', '.join(sorted(known))}")
        current = getattr(TRAIN, key, 0.0)
        if isinstance(current, bool):
            overrides[key] = value.lower() in ("1", "true", "yes")
        elif isinstance(current, (int, float)):
            overrides[key] = type(current)(float(value)) if isinstance(current, int) else float(value)
        else:
            overrides[key] = value
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=default_base())
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--styles", nargs="+", default=list(HELDOUT_STYLES))
    parser.add_argument("--contents", default="new", choices=["new", "demo"],
                        help="new: eight contents the demo does not draw (default); demo: the demo's eight")
    parser.add_argument("--train", nargs="*", default=[], help="TrainConfig fields over the demo's, KEY=VALUE")
    parser.add_argument("--sample", nargs="*", default=[], help="sampler fields over the demo's, KEY=VALUE")
    parser.add_argument("--style-scales", type=float, nargs="+", help="lambda_A values to draw with "
                        f"(default: the demo's, {SAMPLE['style_scale']:g})")
    parser.add_argument("--descriptor", nargs="+", default=[f"{k}={v}" for k, v in DESCRIPTORS.items()],
                        help="the style words of the reference's caption and of every prompt, 'A watermelon in WORDS "
                        "style': WORDS for every style, STYLE=WORDS per style, or auto (the first of `styledrop "
                        "describe` for each reference); default: the demo's rule, " + ", ".join(DESCRIPTORS.values()))
    parser.add_argument("--base-row", action="store_true", help="also draw and score the base alone on the "
                        "same prompts (what the descriptor brings without an adapter)")
    parser.add_argument("--out", type=Path, default=Path("runs/one-image-styles"))
    args = parser.parse_args()
    recipe = replace(TRAIN, **parse_overrides(args.train, {f.name for f in fields(TRAIN)}, "--train"))
    sample_overrides = SAMPLE | parse_overrides(args.sample, {"content_scale", "temperature", "token_temperature",
                                                              "steps", "num_images", "style_only_scale",
                                                              "style_only_from", "refine_passes", "refine_share"},
                                                   "--sample")
    for key in ("steps", "num_images", "refine_passes"):
        if key in sample_overrides:
            sample_overrides[key] = int(sample_overrides[key])
    contents = EVAL_CONTENTS if args.contents == "new" else DEMO_CONTENTS
    base, scorers = load_base(args.base), Scorers.load()
    scales = args.style_scales or [SAMPLE["style_scale"]]
    samples = {scale: sampler_settings(base, overrides=sample_overrides | {"style_scale": scale}) for scale in scales}
    records = {(r.style, r.caption): r for r in load_manifest(args.data)}
    table, rows, chosen = {}, [], {}
    descriptors = dict(d.split("=", 1) if "=" in d else ("*", d) for d in args.descriptor)
    for style in args.styles:
        work = args.out / style
        reference = records[(style, REFERENCE_CONTENT)].paths[base.resolution]
        pixels = image_to_tensor(to_square(load_image(reference), base.resolution))[None]
        adapter = work / "adapter.safetensors"
        words = descriptors.get(style, descriptors.get("*"))
        if words is None:
            raise SystemExit(f"--descriptor names no style words for {style}: add {style}=WORDS, or one WORDS for all")
        if words == "auto":
            words = rank_descriptors(base, pixels[0], REFERENCE_CONTENT, base_style_words(Path(args.base)))[0].descriptor
        chosen[style] = words
        train_adapter(base, pixels, [style_caption(REFERENCE_CONTENT, words)], recipe, adapter,
                      style_descriptor=words, resume=False, show_progress=False)
        prompts = [style_caption(c, words) for c in contents]
        draws = [("base alone", None, next(iter(samples.values())))] if args.base_row else []
        draws += [(f"style scale {scale:g}", load_adapter_file(adapter), sample) for scale, sample in samples.items()]
        for label, style_file, sample in draws:
            folder = work / f"images-{label.replace(' ', '-')}"
            generate_to_folder(base, prompts, sample, folder, style=style_file, show_progress=False)
            record = json.loads((folder / "generation.json").read_text())
            pairs = [(folder / r["file"], r["prompt"]) for r in record["images"]]
            row = table[f"{style}, {label}"] = summarise(
                score_folder(pairs, reference, scorers, REFERENCE_CONTENT, style_words=words), style)
            firsts = [Image.open(path).convert("RGB") for path, _ in pairs[:: sample.num_images]]
            rows.append([load_image(reference), *firsts])
            print(f"{style}, {label}: "
                  + ", ".join(f"{k} {row[k]:.3f}" for k in KEYS if row[k] is not None), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"base": str(args.base), "descriptors": chosen, "contents": contents, "train": asdict(recipe),
              "sample": {f"{scale:g}": asdict(sample) for scale, sample in samples.items()}, "styles": table}
    (args.out / "results.json").write_text(json.dumps(result, indent=2))
    make_grid(rows, min_cell=64).save(args.out / "grid.png")
    sample = next(iter(samples.values()))
    print(f"\nbase {args.base}; descriptors {chosen}; train lr {recipe.lr:g}, {recipe.steps} steps, rank {recipe.rank}"
          f"{' shared' if recipe.shared else ''}; content scale {sample.content_scale:g}, token temperature "
          f"{sample.token_temperature:g}; contents: {args.contents}")
    print("| style, lambda_A | " + " | ".join(KEYS) + " |")
    print("|---|" + "---:|" * len(KEYS))
    for style, row in table.items():
        print(f"| {style} | " + " | ".join("-" if row[k] is None else f"{row[k]:.3f}" for k in KEYS) + " |")


if __name__ == "__main__":
    main()
