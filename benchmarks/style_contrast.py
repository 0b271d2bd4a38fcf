"""Can the base's sampler buy style accuracy on held-out (content, style) pairs, and at what price?

Style contrast guidance: for "A cow in twemoji style" the base is also asked for the same content
in each other pretraining style ("A cow in noto style", ...), and the logits are pushed away from
their mean, so that what the named style adds to this content is amplified and the content,
common to all rows, cancels:

    l = c + w_k * (c - mean_s' l(content in s'))        w_k: the scale at decoding step k

Schedules: "const" (w at every step), "decay" (w * (1 - k / K)), "late" (w from the first third
on, once the layout is set). Prints style accuracy and content top-1 / top-5 (bundled scorers) per
setting on one half of the held-out pairs (`--half even`, the half `base_quality.py --sweep`
tunes on), next to the unguided sampler in the same run.

    .venv/bin/python benchmarks/style_contrast.py [--base models/emoji-base] [--half even]
        [--settings 0:const 0.25:const 1:late 1:const]

Needs the dataset (`styledrop data emoji --out data/emoji`). Each setting costs four transformer
rows per image (about 130 s on 2 CPU cores for 82 images).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from styledrop.base import load_base
from styledrop.bundled import default_base
from styledrop.captions import style_caption
from styledrop.evaluation.runs import grade
from styledrop.images import tensor_to_image
from styledrop.pipeline import StyleDropPipeline, sampler_settings
from styledrop.world.manifest import load_manifest
from styledrop.world.styles import PAIR_STYLES, STYLE_WORDS

SCHEDULES = {
    "const": lambda k: 1.0,
    "decay": lambda k: 1.0 - k,
    "late": lambda k: float(k >= 1 / 3),
}


def draw(pipe: StyleDropPipeline, pairs, scale: float, schedule: str, config, per_pair: int) -> list:
    """`per_pair` images per held-out pair with style contrast guidance; image i seeded i."""
    base, styles = pipe.base, list(PAIR_STYLES)  # the held-out pairs' four sets
    images = []
    for start in range(0, len(pairs), 8):
        chunk = [r for r in pairs[start : start + 8] for _ in range(per_pair)]
        b = len(chunk)
        rows = [style_caption(r.caption, STYLE_WORDS[r.style]) for r in chunk]  # asked for, then each style
        rows += [style_caption(r.caption, STYLE_WORDS[s]) for s in styles for r in chunk]
        text = base.text_encoder.encode(rows).to(base.device)
        others = torch.tensor([[s != r.style for r in chunk] for s in styles], dtype=torch.float32)  # (S, b)
        others = (others / others.sum(0))[..., None, None].to(base.device)  # weights of the mean, (S, b, 1, 1)

        def logits_fn(tokens: torch.Tensor, step: int) -> torch.Tensor:
            out = pipe.forward_rows(tokens.repeat(1 + len(styles), 1), text, {}).split(b)  # (b, N, V) each
            asked, negative = out[0], (torch.stack(out[1:]) * others).sum(0)
            return asked + scale * SCHEDULES[schedule](step / config.steps) * (asked - negative)

        tokens = pipe.decode_with(logits_fn, [start * per_pair + i for i in range(b)], config)
        images += [tensor_to_image(p) for p in base.image_tokenizer.decode(tokens).cpu()]
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=default_base())
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--half", choices=["even", "odd", "all"], default="even")
    parser.add_argument("--settings", nargs="+", default=["0:const", "0.25:const", "1:late", "1:const"],
                        help="SCALE:SCHEDULE, schedule one of " + ", ".join(SCHEDULES))
    parser.add_argument("--images-per-pair", type=int, default=2)
    parser.add_argument("--steps", type=int, default=24)
    args = parser.parse_args()
    from styledrop.evaluation.scorers import Scorers

    settings = [(float(s.split(":")[0]), s.split(":")[1]) for s in args.settings]
    if unknown := [s for _, s in settings if s not in SCHEDULES]:
        parser.error(f"unknown schedule {unknown[0]!r}; choose from {', '.join(SCHEDULES)}")
    base = load_base(args.base)
    pairs = [r for r in load_manifest(args.data) if r.split == "heldout_pair"]
    pairs = {"even": pairs[::2], "odd": pairs[1::2], "all": pairs}[args.half]
    config = sampler_settings(base, overrides={"steps": args.steps})
    scorers, pipe = Scorers.load(), StyleDropPipeline(base)
    print(f"{args.base}: {len(pairs)} held-out pairs ({args.half}), {args.images_per_pair} images each, "
          f"{config.steps} steps, token temperature {config.token_temperature}\n")
    print("| scale | schedule | style accuracy | content top-1 | content top-5 | per style: style accuracy | seconds |\n"
          "|---:|---|---:|---:|---:|---|---:|")
    for scale, schedule in settings:
        start = time.time()
        images = draw(pipe, pairs, scale, schedule, config, args.images_per_pair)
        m = grade(images, [r for r in pairs for _ in range(args.images_per_pair)], scorers)
        per_style = ", ".join(f"{name} {row['style_accuracy']:.2f}" for name, row in m["by_style"].items())
        print(f"| {scale} | {schedule} | {m['style_accuracy']:.3f} | {m['content_top1']:.3f} | {m['content_top5']:.3f} "
              f"| {per_style} | {time.time() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
