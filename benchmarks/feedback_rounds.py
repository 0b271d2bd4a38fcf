"""Round 1 against round 2 (CLIP feedback, random, simulated human) on the emoji world.

For each held-out style, one reference image (default: the watermelon) trains a round-1 adapter;
a pool is drawn (from the built-in contents minus the evaluation's, so round 2 is never judged on
prompts it was trained on), scored with the bundled scorers and selected three ways; each selection trains
a fresh round-2 adapter (rank 32, unshared). Every adapter is evaluated on the same prompts and
seeds: text score, style score (vs the reference), style accuracy (share classified as the
reference's set), content accuracy (top-1) and content leakage (share classified as the
reference's content). The simulated human is a stand-in, labelled as such: it keeps up to 10
images that the style classifier puts in the reference's set and the content classifier
labels as the prompted content, best text score first.

    .venv/bin/python benchmarks/feedback_rounds.py [--styles openmoji-color ...] [--content watermelon]
        [--prompts 12] [--images-per-prompt 8] [--round2-lr 1e-4] [--out runs/feedback-rounds]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from styledrop.adapters.io import load_adapter_file
from styledrop.base import load_base
from styledrop.bundled import default_base
from styledrop.captions import style_caption
from styledrop.demo import CONTENTS as DEMO_CONTENTS
from styledrop.demo import DESCRIPTORS, TRAIN
from styledrop.demo import SAMPLE as DEMO_SAMPLE
from styledrop.evaluation.cli import score_folder
from styledrop.evaluation.runs import summarise
from styledrop.evaluation.scorers import Scorers
from styledrop.feedback.manifest import read_manifest, set_pick
from styledrop.feedback.pool import default_prompts
from styledrop.feedback.rounds import RoundConfig, run_round, train_round
from styledrop.generation import generate_to_folder
from styledrop.images import image_to_tensor, load_image, to_square
from styledrop.pipeline import sampler_settings
from styledrop.training.loop import train_adapter
from styledrop.world.manifest import load_manifest

EVAL_CONTENTS = DEMO_CONTENTS
ROUND1 = TRAIN  # the demo's round-1 recipe (README, "The demo")
ROUND2 = RoundConfig(steps=300, lr=1e-4, checkpoint_every=100)  # paper: rank 32, unshared
SAMPLE = {**DEMO_SAMPLE, "steps": 24, "num_images": 2, "seed": 1000}  # over the base's sampling.json
SIMULATED = "simulated-human"


def simulate_human(pool: Path, scorers, style: str, limit: int = 10) -> int:
    images = read_manifest(pool)
    pictures = [load_image(pool / i.file) for i in images]
    styles = scorers.classify_style(pictures)
    contents = scorers.classify_content(pictures, k=1)
    good = [i for i, (s, _), c in zip(images, styles, contents)
            if s == style and scorers.content_index(i.prompt) == scorers.content_index(c[0][0])]
    for image in sorted(good, key=lambda i: -i.scores["text"])[:limit]:
        set_pick(pool, image.id, True, SIMULATED)
    return min(limit, len(good))


def evaluate(base, adapter_path: Path, reference: Path, content: str, style: str, out: Path, scorers) -> dict:
    adapter = load_adapter_file(adapter_path)
    words = adapter.style_descriptor
    prompts = [style_caption(c, words) for c in EVAL_CONTENTS]
    generate_to_folder(base, prompts, sampler_settings(base, overrides=SAMPLE), out, style=adapter, show_progress=False)
    record = json.loads((out / "generation.json").read_text())
    pairs = [(out / r["file"], r["prompt"]) for r in record["images"]]
    return summarise(score_folder(pairs, reference, scorers, content, style_words=words), style)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=default_base())
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--styles", nargs="+", default=["openmoji-color", "openmoji-black", "fluent-high-contrast"])
    parser.add_argument("--content", default="watermelon")
    parser.add_argument("--prompts", type=int, default=12)
    parser.add_argument("--images-per-prompt", type=int, default=8)
    parser.add_argument("--round2-lr", type=float, default=ROUND2.lr, help=f"round-2 learning rate ({ROUND2.lr:g})")
    parser.add_argument("--descriptor", help="the captions' style words for every style (default: the demo's rule "
                        "per style, " + ", ".join(DESCRIPTORS.values()) + "; '[V]' for a rare token)")
    parser.add_argument("--out", type=Path, default=Path("runs/feedback-rounds"))
    args = parser.parse_args()
    base, scorers = load_base(args.base), Scorers.load()
    records = {(r.style, r.caption): r for r in load_manifest(args.data)}
    table = {}
    for style in args.styles:
        work = args.out / style
        reference = records[(style, args.content)].paths[base.resolution]
        words = args.descriptor or DESCRIPTORS[style]
        caption = style_caption(args.content, words)
        pixels = image_to_tensor(to_square(load_image(reference), base.resolution))[None]
        r1 = work / "round1.safetensors"
        train_adapter(base, pixels, [caption], ROUND1, r1, style_descriptor=words, resume=True, show_progress=False)
        rows = {"round 1": evaluate(base, r1, reference, args.content, style, work / "eval-round1", scorers)}
        pool = work / "pool"
        eval_prompts = [style_caption(c, words) for c in EVAL_CONTENTS]  # the pool leaves these out too
        prompts = default_prompts(args.prompts, words, [caption, *eval_prompts])
        sampler = sampler_settings(base, overrides={**SAMPLE, "seed": 0})
        round2 = replace(ROUND2, lr=args.round2_lr)
        for policy in ("clip", "random", SIMULATED):  # clip first: it draws and scores the pool the others share
            r2 = work / f"round2-{policy}.safetensors"
            if policy != SIMULATED:
                run_round(base, r1, pool, prompts, args.images_per_prompt, sampler, scorers, policy, r2, round2,
                          reference=reference, resume=True, show_progress=False)
            elif simulate_human(pool, scorers, style) == 0:  # no candidate looks like the reference's set
                rows[f"round 2, {policy}"] = {"skipped": "no pool image passed the simulated human"}
                continue
            else:
                train_round(base, pool, policy, r2, round2, resume=True, show_progress=False)
            rows[f"round 2, {policy}"] = evaluate(base, r2, reference, args.content, style, work / f"eval-{policy}", scorers)
        table[style] = rows
        (args.out / "results.json").write_text(json.dumps(table, indent=2))
    keys = ["text_score", "style_score", "style_accuracy", "content_accuracy", "content_leakage"]
    print("| style | adapter | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for style, rows in table.items():
        for name, row in rows.items():
            if "skipped" in row:
                print(f"| {style} | {name} | {row['skipped']} |" + " |" * (len(keys) - 1))
                continue
            values = " | ".join("-" if row[k] is None else f"{row[k]:.3f}" for k in keys)
            print(f"| {style} | {name} | {values} |")


if __name__ == "__main__":
    main()
