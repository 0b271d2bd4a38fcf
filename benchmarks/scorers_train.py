"""Retrain the bundled scorers (models/scorers) from the emoji dataset, with a fixed seed.

    python benchmarks/scorers_train.py --data data/emoji --out runs/scorers --export models/scorers

OUT (git-ignored runs/ by default) holds the checkpoint and the cached caption embeddings as
well; rerun the same command after an interruption and it continues from OUT/checkpoint.safetensors.
`--export` copies the finished scorer folder's files (weights, config.json, labels.json,
metrics.json, style_features.safetensors, style_patches.safetensors) to the bundled place.
`--style-experts-only` refits just the style experts (`--experts`: the feature classifier,
seconds; the patch classifier, minutes) beside OUT's network (copy models/scorers to OUT first to refit the
bundled ones). The model card, models/scorers/README.md, is written by
hand from metrics.json; this script does not touch it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import torch

from styledrop.evaluation.data import load_scorer_data
from styledrop.evaluation.labels import LABELS_NAME
from styledrop.evaluation.model import SIZES
from styledrop.evaluation.style_features import FILE_NAME as STYLE_FEATURES_FILE
from styledrop.evaluation.style_features import (
    StyleFeatureClassifier,
    fit_style_features,
    save_style_classifier,
)
from styledrop.evaluation.style_patches import FILE_NAME as STYLE_PATCHES_FILE
from styledrop.evaluation.style_patches import (
    PatchStyleConfig,
    PatchStyleNet,
    fit_patch_style,
    save_patch_classifier,
)
from styledrop.evaluation.training import (
    METRICS_NAME,
    ScorerTrainSettings,
    train_scorers,
)
from styledrop.evaluation.weights import CONFIG_NAME, WEIGHTS_NAME
from styledrop.images import image_to_tensor, tensor_to_image, to_square

ROOT = Path(__file__).resolve().parents[1]
SMALL = 32  # the bundled base draws 32 px images
PATCH_STEPS = 3000  # the bundled patch classifier (models/scorers/README.md)
EXPERTS = ("features", "patches")


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
    parser.add_argument("--style-experts-only", action="store_true",
                        help="keep OUT's network; fit only its two style experts (minutes)")
    parser.add_argument("--experts", nargs="+", choices=EXPERTS, default=list(EXPERTS),
                        help="which style experts to fit (default: both)")
    parser.add_argument("--patch-steps", type=int, default=PATCH_STEPS,
                        help=f"training steps of the patch style classifier (default {PATCH_STEPS})")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = replace(defaults, size=args.size, steps=args.steps, seed=args.seed)
    if not args.style_experts_only:
        train_scorers(args.data, args.out, settings, log=lambda line: print(line, flush=True))
    fit_style_experts(args.data, args.out, args.seed, args.patch_steps, args.experts)
    if args.export is not None:
        args.export.mkdir(parents=True, exist_ok=True)
        for name in (WEIGHTS_NAME, CONFIG_NAME, LABELS_NAME, METRICS_NAME, STYLE_FEATURES_FILE,
                     STYLE_PATCHES_FILE):
            shutil.copy2(args.out / name, args.export / name)
        print(f"copied the scorer to {args.export}")


def fit_style_experts(data_dir: Path, out: Path, seed: int, patch_steps: int, experts=EXPERTS) -> None:
    """Fit the style experts on the scorer's training images (never its held-out ones)."""
    config = json.loads((out / CONFIG_NAME).read_text())
    eval_seed = json.loads((out / METRICS_NAME).read_text())["training"]["settings"]["eval_seed"]
    size = config["image_size"]
    train = load_scorer_data(data_dir, size, eval_seed)
    train = train.subset(~train.is_eval)
    # The same images from the 32 px files, enlarged as `Scorers` enlarges the base's 32 px drawings.
    small = load_scorer_data(data_dir, SMALL, eval_seed)
    small = small.subset(~small.is_eval)
    enlarged = torch.stack([image_to_tensor(to_square(tensor_to_image(x.float() / 255), size)) for x in small.images])
    images = torch.cat([train.images.float() / 255, enlarged])
    styles = torch.cat([train.style, small.style])
    num_styles = len(train.labels.styles)
    if "features" in experts:
        model = StyleFeatureClassifier(num_styles)
        losses = fit_style_features(model, images, styles, torch.Generator().manual_seed(seed))
        save_style_classifier(model, out / STYLE_FEATURES_FILE)
        print(f"style-feature classifier: {len(styles)} training images ({size} px and {SMALL} px files), "
              f"final loss {losses[-1]:.3f}; wrote {out / STYLE_FEATURES_FILE}", flush=True)
    if "patches" not in experts:
        return
    patches = PatchStyleNet(PatchStyleConfig(num_styles=num_styles, image_size=size))
    started = time.perf_counter()
    losses = fit_patch_style(patches, images, styles, torch.Generator().manual_seed(seed), steps=patch_steps,
                             log=lambda line: print(line, flush=True))
    save_patch_classifier(patches.eval(), out / STYLE_PATCHES_FILE)
    print(f"patch style classifier: {patch_steps} steps in {time.perf_counter() - started:.0f} s, "
          f"final loss {losses[-1]:.3f}; wrote {out / STYLE_PATCHES_FILE}")


if __name__ == "__main__":
    main()
