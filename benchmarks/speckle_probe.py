"""Is the speckle in the sampler or in the model? Sampler variants on held-out (content, style) pairs.

The base's drawings of new (content, style) combinations are covered in stray tokens, patches
whose colour belongs to no neighbour. If the sampler put them there (drawing from a flat tail of
the distribution, committing too many tokens at once), a more careful sampler would remove them;
if the model predicts them, it would draw them again. Tried on every fifth held-out pair, one
image each, same seeds:

- the base's sampler settings (sampling.json), then near-greedy tokens (token temperature 0.05)
  with choice temperature 4.5, 1 and 0;
- refinement after decoding: R rounds in which every position is re-masked once, a share f at a
  time, and redrawn as the model's most likely token given all the others.

Speckle is measured on the decoded pixels: the share of 2 x 2 patches whose mean colour is more
than 0.25 (mean absolute difference over RGB in [0, 1]) from the median of its 8 neighbours'.
The real images of the same pairs, and the same images through the tokenizer, give its floor.
Style accuracy and content top-1 are the bundled scorers' (16 images: a probe, not a benchmark).

    .venv/bin/python benchmarks/speckle_probe.py [--base models/emoji-base] [--every 5] [--out runs/speckle]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from styledrop.base import load_base
from styledrop.bundled import default_base
from styledrop.captions import style_caption
from styledrop.evaluation.runs import grade
from styledrop.evaluation.scorers import Scorers
from styledrop.grid import make_grid
from styledrop.images import image_to_tensor, tensor_to_image
from styledrop.pipeline import StyleDropPipeline, sampler_settings
from styledrop.world.manifest import load_manifest
from styledrop.world.styles import STYLE_WORDS

SAMPLERS = {  # name: (token temperature, choice temperature); None: the base's own
    "base's sampler": (None, None),
    "near-greedy, choice 4.5": (0.05, 4.5),
    "near-greedy, choice 1": (0.05, 1.0),
    "near-greedy, choice 0": (0.05, 0.0),
}
REFINEMENTS = ((0.25, 2), (0.1, 3))  # (share re-masked at a time, rounds)
THRESHOLD = 0.25


def speckle(images: torch.Tensor) -> float:
    """Share of 2 x 2 patches of (B, 3, H, W) in [0, 1] far in colour from the median of their neighbours."""
    patches = F.avg_pool2d(images.float(), 2)  # (B, 3, h, w)
    b, c, h, w = patches.shape
    padded = F.pad(patches, (1, 1, 1, 1), mode="replicate")
    around = padded.unfold(2, 3, 1).unfold(3, 3, 1).reshape(b, c, h, w, 9)  # the 3 x 3 neighbourhood
    neighbours = torch.cat([around[..., :4], around[..., 5:]], dim=-1)  # without the patch itself
    far = (patches - neighbours.median(dim=-1).values).abs().mean(1) > THRESHOLD  # (B, h, w)
    return round(float(far.float().mean()), 4)


def refine(pipe: StyleDropPipeline, logits_fn, tokens: torch.Tensor, share: float, rounds: int,
           generator: torch.Generator) -> torch.Tensor:
    """Re-mask every position once per round, `share` of them at a time, and redraw it as the argmax."""
    tokens = tokens.clone()  # (B, N)
    n = tokens.shape[1]
    chunk = max(1, int(n * share))
    for _ in range(rounds):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, chunk):
            where = order[start : start + chunk]
            masked = tokens.clone()
            masked[:, where] = pipe.base.mask_id
            tokens[:, where] = logits_fn(masked, 0)[:, where].argmax(-1)
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=default_base())
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--every", type=int, default=5, help="every k-th held-out pair")
    parser.add_argument("--out", type=Path, default=Path("runs/speckle"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base, scorers = load_base(args.base), Scorers.load()
    pairs = [r for r in load_manifest(args.data) if r.split == "heldout_pair"][:: args.every]
    prompts = [style_caption(r.caption, STYLE_WORDS[r.style]) for r in pairs]
    seeds = list(range(len(pairs)))
    pipe, own = StyleDropPipeline(base), sampler_settings(base)
    real = torch.stack([image_to_tensor(Image.open(r.paths[base.resolution]).convert("RGB")) for r in pairs])

    def row(images: torch.Tensor) -> dict:
        read = grade([tensor_to_image(x) for x in images], pairs, scorers)
        return {"speckle": speckle(images), "style_accuracy": read["style_accuracy"],
                "content_top1": read["content_top1"]}

    table = {"real images": row(real),
             "real images through the tokenizer": row(base.image_tokenizer.decode(base.image_tokenizer.encode(real)))}
    pictures, first = [[tensor_to_image(x) for x in real]], None
    for name, (token_temperature, temperature) in SAMPLERS.items():
        config = own if token_temperature is None else replace(own, token_temperature=token_temperature,
                                                                temperature=temperature)
        tokens = pipe.decode_with(pipe.guided_logits(prompts, config), seeds, config)
        first = tokens if first is None else first
        images = base.image_tokenizer.decode(tokens).cpu()
        table[name] = row(images)
        pictures.append([tensor_to_image(x) for x in images])
    rule = pipe.guided_logits(prompts, own)
    for share, rounds in REFINEMENTS:
        refined = refine(pipe, rule, first.flatten(1), share, rounds, torch.Generator().manual_seed(0))
        images = base.image_tokenizer.decode(refined.view_as(first)).cpu()
        table[f"base's sampler, then {rounds} refinement rounds of {share:g}"] = row(images)
        pictures.append([tensor_to_image(x) for x in images])
    make_grid(pictures, min_cell=48).save(args.out / "speckle.png")
    (args.out / "speckle.json").write_text(json.dumps(table, indent=2))
    print(f"{len(pairs)} held-out pairs, one image each (rows of {args.out / 'speckle.png'} in this order)\n")
    print("| drawing | speckle (share of 2x2 patches) | style accuracy | content top-1 |")
    print("|---|---:|---:|---:|")
    for name, r in table.items():
        print(f"| {name} | {r['speckle']:.3f} | {r['style_accuracy']:.3f} | {r['content_top1']:.3f} |")


if __name__ == "__main__":
    main()
