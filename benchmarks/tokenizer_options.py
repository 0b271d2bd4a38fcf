"""Patch k-means tokenizers for the emoji base: PSNR on pretraining and held-out styles.

Fits a codebook on the pretraining split's images for each (patch, codes) option and reports
reconstruction PSNR on the pretraining images and on the held-out styles (never fitted on).
The README's tokenizer figures come from this script.

    .venv/bin/python benchmarks/tokenizer_options.py [--data data/emoji] [--size 32]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from styledrop.patch_tokenizer import PatchKMeansTokenizer, psnr
from styledrop.world.manifest import load_manifest
from styledrop.world.pretrain import load_images

OPTIONS = [(4, 1024), (4, 4096), (2, 256), (2, 1024), (2, 2048)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=15)
    args = parser.parse_args()
    records = load_manifest(args.data)
    pretrain = load_images([r for r in records if r.split == "pretrain"], args.size)
    heldout = load_images([r for r in records if r.split == "heldout_style"], args.size)
    print("| patch | codes | tokens per image | PSNR pretraining styles | PSNR held-out styles | fit s |")
    print("|---|---|---|---|---|---|")
    for patch, codes in OPTIONS:
        start = time.time()
        tokenizer = PatchKMeansTokenizer.fit(pretrain, patch, codes, torch.Generator().manual_seed(0), args.iterations)
        seconds = time.time() - start
        scores = [psnr(tokenizer.decode(tokenizer.encode(x)), x) for x in (pretrain, heldout)]
        side = args.size // patch
        print(f"| {patch}x{patch} | {codes} | {side * side} | {scores[0]:.1f} dB | {scores[1]:.1f} dB | {seconds:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
