"""Accuracy of the bundled scorers on the held-out evaluation images, beside a pixel baseline.

    python benchmarks/scorers_eval.py [--data data/emoji] [--scorers models/scorers]

The evaluation images are the (content, style) pairs the scorer never trained on (one style
per content, seeded; `styledrop.evaluation.data`); the seed is read from the scorer folder's
metrics.json. The peer in the same run is a 1-nearest-neighbour classifier on raw pixels over
the same training images. Text-score columns use the MiniLM embedding of "a <caption>". A second
table scores the same images read from the dataset's 32 px files and resized by `Scorers`, as
32 px images from the bundled base model will be.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

from styledrop.errors import StyleDropError
from styledrop.evaluation.accuracy import evaluate
from styledrop.evaluation.captions import with_article
from styledrop.evaluation.data import ScorerData, load_scorer_data
from styledrop.evaluation.scorers import Scorers
from styledrop.evaluation.weights import DEFAULT_SCORER_DIR
from styledrop.images import tensor_to_image

ROOT = Path(__file__).resolve().parents[1]


def pixel_nearest_neighbour(train: ScorerData, held: ScorerData) -> dict[str, torch.Tensor]:
    """Per held-out image: does its nearest training image (L2 on pixels) share style/content?"""
    a = held.images.flatten(1).float() / 255  # (N, 3 S S)
    b = train.images.flatten(1).float() / 255  # (M, 3 S S)
    nearest = torch.cdist(a, b).argmin(1)  # (N,)
    return {"style": train.style[nearest] == held.style,
            "content": train.content[nearest] == held.content}


def eval_seed_of(scorer_dir: Path) -> int:
    path = scorer_dir / "metrics.json"
    try:
        return int(json.loads(path.read_text())["training"]["settings"]["eval_seed"])
    except (FileNotFoundError, KeyError, json.JSONDecodeError) as err:
        raise StyleDropError(f"cannot read the evaluation seed from {path} ({err}); pass "
                             "--eval-seed") from err


def upscaled_from(data: ScorerData, scorers: Scorers) -> ScorerData:
    """`data` as the scorer sees small images: each PIL image resized by `Scorers.to_tensor`."""
    pictures = [tensor_to_image(image.float() / 255) for image in data.images]
    images = (scorers.to_tensor(pictures) * 255).round().to(torch.uint8)
    return replace(data, images=images)


def print_table(title: str, report: dict, held: ScorerData, baseline: dict) -> None:
    print(title)
    head = (f"{'style set':<22}{'n':>4}  {'style':>6}  {'top-1':>6}  {'top-5':>6}  "
            f"{'text@1':>6}  {'sty@1':>6}  |  {'px style':>8}  {'px top-1':>8}")
    print(head)
    print("-" * len(head))
    rows = [("all", report["overall"], torch.ones_like(held.style, dtype=torch.bool))]
    rows += [(name, report["per_style"][name], held.style == s)
             for s, name in enumerate(held.labels.style_ids)]
    for name, r, mask in rows:
        px_style = baseline["style"][mask].float().mean().item()
        px_content = baseline["content"][mask].float().mean().item()
        print(f"{name:<22}{r['n']:>4}  {r['style_accuracy']:>6.3f}  {r['content_top1']:>6.3f}  "
              f"{r['content_top5']:>6.3f}  {r['text_top1']:>6.3f}  {r['style_score_top1']:>6.3f}"
              f"  |  {px_style:>8.3f}  {px_content:>8.3f}")
    o = report["overall"]
    alone = [(key.removeprefix("style_accuracy_"), value) for key, value in o.items()
             if key.startswith("style_accuracy_")]
    if alone:
        parts = ", ".join(f"{name} {value:.3f}" for name, value in alone)
        print(f"style, each classifier alone: {parts}; their product (the scorer's verdict) "
              f"{o['style_accuracy']:.3f}")
    print(f"text score: right caption {o['text_score_right']:.3f}, other captions "
          f"{o['text_score_wrong']:.3f}; style score to references: same style "
          f"{o['style_score_same_style']:.3f}, same content {o['style_score_same_content']:.3f}, "
          f"neither {o['style_score_neither']:.3f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "emoji")
    parser.add_argument("--scorers", type=Path, default=DEFAULT_SCORER_DIR)
    parser.add_argument("--eval-seed", type=int, help="default: from SCORERS/metrics.json")
    parser.add_argument("--small", type=int, default=32,
                        help="also score the dataset's images of this size, upscaled (0: skip)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    scorers = Scorers.load(args.scorers)
    seed = args.eval_seed if args.eval_seed is not None else eval_seed_of(args.scorers)
    data = load_scorer_data(args.data, scorers.image_size, seed, styles=scorers.labels.style_ids)
    if data.labels != scorers.labels:
        raise StyleDropError(f"{args.data} and {args.scorers} disagree on styles or contents; "
                             "evaluate on the dataset the scorer was trained on")
    train, held = data.subset(~data.is_eval), data.subset(data.is_eval)
    plain = scorers.text_encoder.encode([with_article(c) for c in scorers.labels.captions])
    captions = plain.pooled.float()
    print(f"held-out images: {len(held.style)} of {len(data.style)} (eval seed {seed}); "
          f"scorer {args.scorers}; references for sty@1: the {len(train.style)} training images")
    print("style = style classifier, top-1/top-5 = content classifier, text@1 = zero-shot "
          "content by text score, sty@1 = style whose references have the highest mean style "
          "score; px = pixel 1-nearest-neighbour over the training images\n")
    reports = {}
    reports["native"] = evaluate(scorers.model, held, captions, references=train,
                                 style_experts=scorers.style_experts)
    print_table(f"at {scorers.image_size} px", reports["native"], held,
                pixel_nearest_neighbour(train, held))
    if args.small:
        small = load_scorer_data(args.data, args.small, seed, styles=scorers.labels.style_ids)
        small_train, small_held = small.subset(~small.is_eval), small.subset(small.is_eval)
        held_up = upscaled_from(small_held, scorers)
        reports[f"from_{args.small}px"] = evaluate(scorers.model, held_up, captions,
                                                   references=train, style_experts=scorers.style_experts)
        print_table(f"the same images from the {args.small} px files, resized by Scorers",
                    reports[f"from_{args.small}px"], held_up,
                    pixel_nearest_neighbour(small_train, small_held))
    if args.json is not None:
        args.json.write_text(json.dumps(reports, indent=2) + "\n")


if __name__ == "__main__":
    main()
