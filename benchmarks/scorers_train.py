"""Retrain the bundled scorers (models/scorers) from the emoji dataset, with a fixed seed.

    python benchmarks/scorers_train.py --data data/emoji --out runs/scorers --export models/scorers

OUT (git-ignored runs/ by default) holds the checkpoint and the cached caption embeddings as
well; rerun the same command after an interruption and it continues from OUT/checkpoint.safetensors.
`--export` copies the finished scorer folder's files (weights, config.json, labels.json,
metrics.json) to the bundled place. The model card, models/scorers/README.md, is written by
hand from metrics.json; this script does not touch it.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
from pathlib import Path

import torch

from styledrop.evaluation.labels import LABELS_NAME
from styledrop.evaluation.model import SIZES
from styledrop.evaluation.training import (
    METRICS_NAME,
    ScorerTrainSettings,
    train_scorers,
)
from styledrop.evaluation.weights import CONFIG_NAME, WEIGHTS_NAME

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    defaults = ScorerTrainSettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "emoji")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "scorers")
    parser.add_argument("--export", type=Path, help="copy the finished scorer here")
    parser.add_argument("--size", choices=sorted(SIZES), default=defaults.size)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = replace(defaults, size=args.size, steps=args.steps, seed=args.seed)
    train_scorers(args.data, args.out, settings, log=lambda line: print(line, flush=True))
    if args.export is not None:
        args.export.mkdir(parents=True, exist_ok=True)
        for name in (WEIGHTS_NAME, CONFIG_NAME, LABELS_NAME, METRICS_NAME):
            shutil.copy2(args.out / name, args.export / name)
        print(f"copied the scorer to {args.export}")


if __name__ == "__main__":
    main()
