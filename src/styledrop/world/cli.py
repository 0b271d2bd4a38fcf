"""`styledrop data emoji --out DIR`: a thin argparse layer over `build_emoji_dataset`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .dataset import build_emoji_dataset
from .styles import HELDOUT_STYLES, STYLE_SETS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data`` (with its ``emoji`` subcommand) to the main CLI's subparsers."""
    data = subparsers.add_parser("data", help="build the datasets of the emoji world")
    kinds = data.add_subparsers(dest="data_command", metavar="DATASET", required=True)
    emoji = kinds.add_parser(
        "emoji",
        help="fetch the pinned emoji packages with npm and build the multi-style dataset",
        description="Fetch the pinned npm emoji packages, verify them, rasterize the fixed "
        f"vocabulary in {len(STYLE_SETS)} style sets ({len(HELDOUT_STYLES)} of them held out from "
        "pretraining) and write manifest.jsonl, summary.json and LICENSES.md. "
        "Resumable: run it again to finish an interrupted build.",
    )
    emoji.add_argument("--out", type=Path, required=True, help="dataset folder (created)")
    emoji.add_argument(
        "--sizes", type=int, nargs="+", default=[32, 64], help="square image sizes in pixels"
    )
    emoji.add_argument(
        "--heldout-pair-fraction",
        type=float,
        default=0.05,
        help="share of (content, pretraining style) pairs held out from pretraining",
    )
    emoji.add_argument("--seed", type=int, default=0, help="seed of the held-out pair choice")
    emoji.add_argument("--npm", default="npm", help="npm executable")
    emoji.add_argument("--no-progress", action="store_true", help="hide progress bars")
    emoji.set_defaults(func=run_emoji)


def run_emoji(args: argparse.Namespace) -> int:
    summary = build_emoji_dataset(
        args.out,
        sizes=args.sizes,
        heldout_pair_fraction=args.heldout_pair_fraction,
        seed=args.seed,
        npm=args.npm,
        progress=not args.no_progress,
    )
    print(
        f"{args.out}: {summary.contents} contents x {len(summary.counts)} styles = "
        f"{summary.images} images at sizes {summary.sizes} ({summary.rendered} drawn now, "
        f"{summary.seconds:.0f} s)"
    )
    width = max(len(style) for style in summary.counts)
    splits = list(summary.split_totals)
    print(f"{'style':<{width}}  " + "  ".join(f"{s:>13}" for s in splits))
    for style, counts in summary.counts.items():
        print(f"{style:<{width}}  " + "  ".join(f"{counts[s]:>13}" for s in splits))
    print(f"{'total':<{width}}  " + "  ".join(f"{summary.split_totals[s]:>13}" for s in splits))
    if summary.dropped:
        print(
            f"{len(summary.dropped)} vocabulary contents dropped (missing in some set); "
            "see summary.json"
        )
    return 0
