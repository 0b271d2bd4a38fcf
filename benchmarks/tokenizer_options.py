"""Patch k-means tokenizers for the emoji base: PSNR on pretraining and held-out styles.

Fits a codebook on the pretraining split's images for each (patch, codes) option and reports
reconstruction PSNR on the pretraining images and on the held-out styles (never fitted on).
The README's tokenizer figures come from this script.

With --style-ceiling it also asks the bundled scorers which style the tokenized images show: the
real images of the held-out (content, style) pairs and of the held-out styles, after encode ->
decode. No drawing of the base can read better than its tokens, so this is the ceiling of
`benchmarks/base_quality.py`'s style accuracy (and of the demo's) for that tokenizer; the first
row gives the real images themselves.

    .venv/bin/python benchmarks/tokenizer_options.py [--data data/emoji] [--size 32]
        [--options 2x1024 2x2048] [--style-ceiling]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from styledrop.base.patch_tokenizer import PatchKMeansTokenizer, psnr
from styledrop.pretraining.pretrain import load_images
from styledrop.world.manifest import load_manifest

OPTIONS = ["4x1024", "4x4096", "2x256", "2x1024", "2x2048"]  # patch x codes


def style_accuracy(scorers, images: torch.Tensor, records) -> float:
    from styledrop.evaluation.runs import grade
    from styledrop.images import tensor_to_image

    return grade([tensor_to_image(x) for x in images], records, scorers)["style_accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--options", nargs="+", default=OPTIONS, help="patch x codes, e.g. 2x1024")
    parser.add_argument("--style-ceiling", action="store_true",
                        help="also the scorers' style accuracy on tokenized held-out images")
    args = parser.parse_args()
    records = load_manifest(args.data)
    pretrain = load_images([r for r in records if r.split == "pretrain"], args.size)
    judged = {split: [r for r in records if r.split == split] for split in ("heldout_pair", "heldout_style")}
    heldout = load_images(judged["heldout_style"], args.size)
    header = "| patch | codes | tokens per image | PSNR pretraining styles | PSNR held-out styles | fit s |"
    if args.style_ceiling:
        from styledrop.evaluation.scorers import Scorers

        scorers = Scorers.load()
        real = {"heldout_pair": load_images(judged["heldout_pair"], args.size), "heldout_style": heldout}
        header += " style accuracy, tokenized held-out pairs | the same, held-out styles |"
    print(header)
    print("|---" * header.count("|", 1) + "|")
    if args.style_ceiling:
        ceiling = [style_accuracy(scorers, real[split], judged[split]) for split in judged]
        print(f"| - | - | real images | - | - | - | {ceiling[0]:.3f} | {ceiling[1]:.3f} |", flush=True)
    for option in args.options:
        patch, codes = (int(x) for x in option.split("x"))
        start = time.time()
        tokenizer = PatchKMeansTokenizer.fit(pretrain, patch, codes, torch.Generator().manual_seed(0), args.iterations)
        seconds = time.time() - start
        scores = [psnr(tokenizer.decode(tokenizer.encode(x)), x) for x in (pretrain, heldout)]
        side = args.size // patch
        row = f"| {patch}x{patch} | {codes} | {side * side} | {scores[0]:.1f} dB | {scores[1]:.1f} dB | {seconds:.0f} |"
        if args.style_ceiling:
            ceiling = [style_accuracy(scorers, tokenizer.decode(tokenizer.encode(real[split])), judged[split])
                       for split in judged]
            row += f" {ceiling[0]:.3f} | {ceiling[1]:.3f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
