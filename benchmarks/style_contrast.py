"""Can the base's sampler buy style accuracy on held-out (content, style) pairs, and at what price?

Style contrast guidance: for "A cow in twemoji style" the base is also asked for the same content
in each other pretraining style ("A cow in noto style", ...), and the logits are pushed away from
their mean, so that what the named style adds to this content is amplified and the content,
common to all rows, cancels:

    l = c + w_k * (c - mean_s' l(content in s'))        w_k: the scale at decoding step k

`--term style-only` pushes along the named style's own direction instead, composable guidance
(Liu et al. 2022) with the style alone as one of the concepts: the base is also asked for the
style with no content ("An emoji in twemoji style", the caption a base trained with
`style_only_caption` knows) and for nothing (""), and

    l = c + w_k * (l(style alone) - l(""))

so that what the style looks like on any content is added to the drawing of this one.
`--term content-only` is the other concept of the pair: the content with no style ("A cow", the
plain captions every base was trained with), l = c + w_k * (l(content alone) - l("")); and
`--style-only-scale W` adds W * (l(style alone) - l("")) at every step on top of either term, so
that the two concepts are weighed separately:

    l = c + w_k * (l(content alone) - l("")) + W * (l(style alone) - l(""))

`--term to-style-only` and `--term to-empty` hand the drawing over instead: l = c + w_k * (l(x) - c)
with x the style alone or nothing (""), so that at w 1 the late steps fill in the last tokens from
the drawing so far with the content no longer named, rather than from where the prompt's memorised
drawings put each token (the stray tokens of held-out pairs are such a mosaic of memorised
drawings).

Schedules: "const" (w at every step), "decay" (w * (1 - k / K)), "late" (w from the first third
on, once the layout is set), "half" and "end" (from half and two thirds of the steps on). Prints
style accuracy and content top-1 / top-5 (bundled scorers) per setting on one half of the
held-out pairs (`--half even`, the half `base_quality.py --sweep` tunes on), next to the unguided
sampler in the same run.

    .venv/bin/python benchmarks/style_contrast.py [--base models/emoji-base] [--half even]
        [--settings 0:const 0.25:const 1:late 1:const] [--term contrast|style-only|content-only]
        [--style-only-scale W]

Needs the dataset (`styledrop data emoji --out data/emoji`). Each setting costs five transformer
rows per image with the contrast term (about 130 s on 2 CPU cores for 82 images), three with the
style-only or content-only term, and two more with --style-only-scale (about 200 s).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch

from styledrop.base import load_base
from styledrop.bundled import default_base
from styledrop.captions import style_caption, style_only_prompt
from styledrop.evaluation.runs import grade
from styledrop.images import tensor_to_image
from styledrop.pipeline import StyleDropPipeline, sampler_settings
from styledrop.world.manifest import load_manifest
from styledrop.world.styles import PAIR_STYLES, STYLE_WORDS

Term = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (asked (b, N, V), rows (J, b, N, V)) -> term

SCHEDULES = {
    "const": lambda k: 1.0,
    "decay": lambda k: 1.0 - k,
    "late": lambda k: float(k >= 1 / 3),
    "half": lambda k: float(k >= 1 / 2),
    "end": lambda k: float(k >= 2 / 3),
}


def contrast_term(chunk) -> tuple[list[str], Term]:
    """Rows: the same content in each pair style; term: asked minus the mean of the other styles' rows."""
    styles = list(PAIR_STYLES)  # the held-out pairs' four sets
    rows = [style_caption(r.caption, STYLE_WORDS[s]) for s in styles for r in chunk]
    others = torch.tensor([[s != r.style for r in chunk] for s in styles], dtype=torch.float32)  # (S, b)
    others = (others / others.sum(0))[..., None, None]  # weights of the mean, (S, b, 1, 1)
    return rows, lambda asked, out: asked - (out * others.to(out.device)).sum(0)


def style_only_term(chunk) -> tuple[list[str], Term]:
    """Rows: the style alone, then nothing; term: their difference."""
    rows = [style_only_prompt(STYLE_WORDS[r.style]) for r in chunk]
    return rows + [""] * len(chunk), lambda asked, out: out[0] - out[1]


def content_only_term(chunk) -> tuple[list[str], Term]:
    """Rows: the content alone ("A cow"), then nothing; term: their difference."""
    return [f"A {r.caption}" for r in chunk] + [""] * len(chunk), lambda asked, out: out[0] - out[1]


def to_style_only_term(chunk) -> tuple[list[str], Term]:
    """Row: the style alone; term: it minus the asked logits (w 1: the style alone instead of the prompt)."""
    return [style_only_prompt(STYLE_WORDS[r.style]) for r in chunk], lambda asked, out: out[0] - asked


def to_empty_term(chunk) -> tuple[list[str], Term]:
    """Row: nothing (""); term: it minus the asked logits (w 1: the unconditional model instead of the prompt)."""
    return [""] * len(chunk), lambda asked, out: out[0] - asked


TERMS = {"contrast": contrast_term, "style-only": style_only_term, "content-only": content_only_term,
         "to-style-only": to_style_only_term, "to-empty": to_empty_term}


def draw(pipe: StyleDropPipeline, pairs, scale: float, schedule: str, config, per_pair: int,
         term: str = "contrast", style_only_scale: float = 0.0) -> list:
    """`per_pair` images per held-out pair, l = asked + w_k * term [+ W * style-only term]; image i seeded i."""
    base, images = pipe.base, []
    for start in range(0, len(pairs), 8):
        chunk = [r for r in pairs[start : start + 8] for _ in range(per_pair)]
        b = len(chunk)
        extra, term_of = TERMS[term](chunk)
        style_rows, style_of = style_only_term(chunk) if style_only_scale else ([], None)
        rows = [style_caption(r.caption, STYLE_WORDS[r.style]) for r in chunk] + extra + style_rows  # asked first
        text = base.text_encoder.encode(rows).to(base.device)
        split = 1 + len(extra) // b  # the term's rows end here; the style-only rows follow

        def logits_fn(tokens: torch.Tensor, step: int) -> torch.Tensor:
            out = pipe.forward_rows(tokens.repeat(len(rows) // b, 1), text, {}).split(b)  # (b, N, V) each
            asked = out[0]
            logits = asked + scale * SCHEDULES[schedule](step / config.steps) * term_of(asked, torch.stack(out[1:split]))
            if style_of is not None:
                logits = logits + style_only_scale * style_of(asked, torch.stack(out[split:]))
            return logits

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
    parser.add_argument("--term", choices=list(TERMS), default="contrast",
                        help="contrast: away from the other styles; style-only: toward the style alone; "
                             "content-only: toward the content alone; to-style-only, to-empty: hand the drawing "
                             "over to the style alone or to nothing")
    parser.add_argument("--style-only-scale", type=float, default=0.0,
                        help="also add this much of the style-only term at every step (the sampler's style_only_scale)")
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
          f"{config.steps} steps, token temperature {config.token_temperature}, {args.term} term"
          + (f", style-only term {args.style_only_scale} throughout" if args.style_only_scale else "") + "\n")
    print("| scale | schedule | style accuracy | content top-1 | content top-5 | per style: style accuracy | seconds |\n"
          "|---:|---|---:|---:|---:|---|---:|")
    for scale, schedule in settings:
        start = time.time()
        images = draw(pipe, pairs, scale, schedule, config, args.images_per_pair, args.term, args.style_only_scale)
        m = grade(images, [r for r in pairs for _ in range(args.images_per_pair)], scorers)
        per_style = ", ".join(f"{name} {row['style_accuracy']:.2f}" for name, row in m["by_style"].items())
        print(f"| {scale} | {schedule} | {m['style_accuracy']:.3f} | {m['content_top1']:.3f} | {m['content_top5']:.3f} "
              f"| {per_style} | {time.time() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
