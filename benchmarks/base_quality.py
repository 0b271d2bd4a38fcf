"""Quality of the bundled emoji-world base: tokenizer reconstruction and held-out pairs.

1. Tokenizer: PSNR of encode -> decode on pretraining-style images and on held-out-style images
   (which the tokenizer never saw), and a side-by-side picture (top: originals, bottom:
   reconstructions).
2. Transformer: for every (content, style) pair held out from pretraining, draw images from
   "A {content} in {style words} style" and ask the bundled scorers which style and which content
   they show: style accuracy, content accuracy (top-1 and top-5 over the whole vocabulary), and a
   picture grid of the first pairs.

    .venv/bin/python benchmarks/base_quality.py [--base models/emoji-base] [--data data/emoji]
        [--images-per-pair 2] [--out runs/base-quality]

Needs the dataset (`styledrop data emoji --out data/emoji`) for the held-out pairs and images.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from PIL import Image

from styledrop.base import load_base
from styledrop.bundled import default_base
from styledrop.grid import make_grid
from styledrop.images import image_to_tensor
from styledrop.patch_tokenizer import psnr
from styledrop.pipeline import SampleConfig, StyleDropPipeline
from styledrop.world.manifest import load_manifest
from styledrop.world.pretrain import STYLE_WORDS


def tokenizer_report(base, records, out: Path) -> dict:
    size = base.resolution
    report, pictures = {}, []
    for name, split in (("pretraining styles", "pretrain"), ("held-out styles", "heldout_style")):
        chosen = [r for r in records if r.split == split]
        images = torch.stack([image_to_tensor(Image.open(r.paths[size]).convert("RGB")) for r in chosen])
        decoded = base.image_tokenizer.decode(base.image_tokenizer.encode(images))
        report[name] = round(psnr(decoded, images), 2)
        picks = torch.linspace(0, len(chosen) - 1, 8).long()
        pictures.append([Image.fromarray((images[i].permute(1, 2, 0) * 255).byte().numpy()) for i in picks])
        pictures.append([Image.fromarray((decoded[i].permute(1, 2, 0) * 255).round().byte().numpy()) for i in picks])
    make_grid(pictures, min_cell=64).save(out / "tokenizer.png")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=default_base())
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--images-per-pair", type=int, default=2)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--out", type=Path, default=Path("runs/base-quality"))
    args = parser.parse_args()
    from styledrop.evaluation.scorers import Scorers

    args.out.mkdir(parents=True, exist_ok=True)
    base = load_base(args.base)
    records = load_manifest(args.data)
    tokenizer = tokenizer_report(base, records, args.out)

    pairs = [r for r in records if r.split == "heldout_pair"]
    prompts = [f"A {r.caption} in {STYLE_WORDS[r.style]} style" for r in pairs]
    config = SampleConfig(steps=args.steps, num_images=args.images_per_pair, content_scale=5.0, batch_size=16)
    results = StyleDropPipeline(base).generate(prompts, config)
    images = [g.image for g in results]
    wanted = [r for r in pairs for _ in range(args.images_per_pair)]
    scorers = Scorers.load()
    styles = scorers.classify_style(images)
    contents = scorers.classify_content(images, k=5)
    style_ok = [s == r.style for (s, _), r in zip(styles, wanted)]
    top1 = [c[0][0] == r.caption for c, r in zip(contents, wanted)]
    top5 = [any(name == r.caption for name, _ in c) for c, r in zip(contents, wanted)]
    report = {
        "base": str(args.base), "tokenizer_psnr_db": tokenizer,
        "heldout_pairs": len(pairs), "images": len(images), "sampler": config.__dict__,
        "style_accuracy": round(sum(style_ok) / len(images), 4),
        "content_top1": round(sum(top1) / len(images), 4), "content_top5": round(sum(top5) / len(images), 4),
    }
    rows = [[g.image for g in results[i : i + args.images_per_pair * 8 : args.images_per_pair]]
            for i in range(0, min(len(results), args.images_per_pair * 32), args.images_per_pair * 8)]
    make_grid(rows, min_cell=64).save(args.out / "heldout_pairs.png")
    (args.out / "heldout_pairs.txt").write_text("\n".join(prompts[:32]) + "\n")
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print("| measure | value |\n|---|---|")
    for name, value in tokenizer.items():
        print(f"| tokenizer PSNR, {name} | {value} dB |")
    print(f"| held-out pairs: style accuracy ({len(images)} images) | {report['style_accuracy']:.3f} |")
    print(f"| held-out pairs: content accuracy, top-1 | {report['content_top1']:.3f} |")
    print(f"| held-out pairs: content accuracy, top-5 | {report['content_top5']:.3f} |")
    print(f"pictures: {args.out / 'tokenizer.png'}, {args.out / 'heldout_pairs.png'} (prompts in heldout_pairs.txt)")


if __name__ == "__main__":
    main()
