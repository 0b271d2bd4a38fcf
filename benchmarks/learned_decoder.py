"""Would a learned decoder over the patch tokens clean up the base's stray tokens? Train one, then measure.

Muse decodes its tokens with a VQGAN decoder, a conv net that can repair what the sampler gets
wrong; the bundled tokenizer pastes each token's 2 x 2 centroid. This trains a small residual conv
net over the token grid (each token's centroid and a learned code embedding in, a zero-initialised
correction to the pasted centroids out) to rebuild the pretraining split's real images and their
mirror images from their tokens, with a random share (0 to --noise) of the tokens replaced by random
codes or by codes from elsewhere in the same image. It never sees a held-out style or pair.

Then, pasted centroids against the learned decoder:
- PSNR on clean tokens of the pretraining split, the held-out styles and the held-out pairs;
- the scorers' style accuracy on the tokenized held-out pairs (the ceiling of any drawing);
- the base's drawings of the held-out pairs (one image each, seeds 0..): style, content, KID to the
  real images of their styles, as `benchmarks/base_quality.py` measures them;
- with --demo DIR (a `styledrop demo` output), its StyleDrop drawings re-decoded: style, content, KID.

    .venv/bin/python benchmarks/learned_decoder.py [--steps 1250] [--noise 0.25] [--demo demo-output]
        [--out runs/learned-decoder]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from styledrop.base import load_base
from styledrop.base.patch_tokenizer import PatchKMeansTokenizer, from_patches, psnr
from styledrop.bundled import default_base
from styledrop.captions import style_caption
from styledrop.demo import CONTENTS as DEMO_CONTENTS
from styledrop.demo import DESCRIPTOR, REFERENCE_STYLE
from styledrop.evaluation.realism import kid_to_real, real_features, style_records
from styledrop.evaluation.runs import grade
from styledrop.evaluation.scorers import Scorers
from styledrop.grid import make_grid
from styledrop.images import image_to_tensor, tensor_to_image
from styledrop.pipeline import StyleDropPipeline, sampler_settings
from styledrop.pretraining.pretrain import load_images
from styledrop.world.manifest import load_manifest
from styledrop.world.styles import STYLE_WORDS

BATCH = 64


class Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(8, channels)
        self.first, self.second = nn.Conv2d(channels, channels, 3, padding=1), nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.second(F.silu(self.first(F.silu(self.norm(x)))))


class TokenDecoder(nn.Module):
    """Token ids (B, h, w) -> pixels (B, 3, h*p, w*p): the pasted centroids plus a learned correction."""

    def __init__(self, codebook: torch.Tensor, patch: int, width: int = 64, blocks: int = 4, embedding: int = 16):
        super().__init__()
        self.patch = patch
        self.register_buffer("codebook", codebook.clone())  # (K, 3 * p * p)
        self.embed = nn.Embedding(len(codebook), embedding)
        self.inp = nn.Conv2d(codebook.shape[1] + embedding, width, 3, padding=1)
        self.body = nn.Sequential(*[Residual(width) for _ in range(blocks)])
        self.out = nn.Conv2d(width, codebook.shape[1], 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        patches = self.codebook[ids]  # (B, h, w, 3 * p * p)
        x = torch.cat([patches, self.embed(ids)], -1).permute(0, 3, 1, 2)
        correction = self.out(self.body(self.inp(x))).permute(0, 2, 3, 1)
        return from_patches(patches + correction, self.patch).clamp(0, 1)

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.cat([self(ids[i : i + 256]) for i in range(0, len(ids), 256)])


def corrupt(ids: torch.Tensor, noise: float, codes: int, generator: torch.Generator) -> torch.Tensor:
    """Replace a random share (0 to `noise`, per image) of the tokens: half by random codes, half by
    codes taken from other positions of the same image (its own palette in the wrong place)."""
    b, h, w = ids.shape
    rate = torch.rand(b, 1, 1, generator=generator) * noise
    where = torch.rand(b, h, w, generator=generator) < rate
    random_codes = torch.randint(codes, (b, h, w), generator=generator)
    elsewhere = ids.reshape(b, -1).gather(1, torch.randint(h * w, (b, h * w), generator=generator)).view(b, h, w)
    pick = torch.rand(b, h, w, generator=generator) < 0.5
    return torch.where(where, torch.where(pick, random_codes, elsewhere), ids)


def train(tokenizer, images: torch.Tensor, steps: int, noise: float) -> tuple[TokenDecoder, float]:
    decoder = TokenDecoder(tokenizer.codebook, tokenizer.patch)
    ids = tokenizer.encode(images)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=2e-3, weight_decay=0.0)
    generator, start = torch.Generator().manual_seed(1), time.time()
    for step in range(1, steps + 1):
        batch = torch.randint(len(images), (BATCH,), generator=generator)
        drawn = decoder(corrupt(ids[batch], noise, tokenizer.codebook_size, generator))
        loss = (drawn - images[batch]).abs().mean() + ((drawn - images[batch]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 200 == 0:
            print(f"step {step}: loss {loss.item():.4f}, {time.time() - start:.0f} s", flush=True)
    return decoder.eval(), time.time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=default_base())
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--steps", type=int, default=1250, help="training steps of 64 images")
    parser.add_argument("--noise", type=float, default=0.25, help="the largest share of tokens replaced")
    parser.add_argument("--demo", type=Path, help="a `styledrop demo` output folder to re-decode")
    parser.add_argument("--out", type=Path, default=Path("runs/learned-decoder"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    base, scorers, records = load_base(args.base), Scorers.load(), load_manifest(args.data)
    tokenizer = base.image_tokenizer
    if not isinstance(tokenizer, PatchKMeansTokenizer):
        raise SystemExit(f"{args.base}'s tokenizer is not a patch codebook: this benchmark decodes patch tokens")
    split = {name: [r for r in records if r.split == name] for name in ("pretrain", "heldout_style", "heldout_pair")}
    pretrain = load_images(split["pretrain"], base.resolution)
    decoder, seconds = train(tokenizer, torch.cat([pretrain, pretrain.flip(-1)]), args.steps, args.noise)
    decoders = {"pasted centroids": tokenizer.decode, "learned decoder": decoder.decode}
    table: dict[str, dict] = {name: {} for name in decoders}

    def read(images: torch.Tensor, asked: list, reals: torch.Tensor | None = None) -> dict:
        pictures = [tensor_to_image(x) for x in images]
        row = grade(pictures, asked, scorers)
        out = {k: row[k] for k in ("style_accuracy", "content_top1", "content_top5")}
        if reals is not None:
            out["kid"] = kid_to_real(pictures, reals, device="cpu", generator=torch.Generator().manual_seed(0)).to_json()
        return out

    for name, records_of in split.items():
        images = pretrain if name == "pretrain" else load_images(records_of, base.resolution)
        ids = tokenizer.encode(images)
        for label, decode in decoders.items():
            table[label][f"PSNR {name}"] = round(psnr(decode(ids), images), 2)
            if name == "heldout_pair":
                table[label]["tokenized held-out pairs"] = read(decode(ids), records_of)
    pairs = split["heldout_pair"]
    config = sampler_settings(base, overrides={"steps": 24, "num_images": 1, "batch_size": 16})  # base_quality.py's
    prompts = [style_caption(r.caption, STYLE_WORDS[r.style]) for r in pairs]
    drawn = StyleDropPipeline(base).sample_tokens(prompts, list(range(len(pairs))), config)
    pair_reals = real_features(style_records(records, {r.style for r in pairs}), base.resolution, "cpu")
    rows = []
    for label, decode in decoders.items():
        table[label]["the base's held-out pairs"] = read(decode(drawn), pairs, pair_reals)
        rows.append([tensor_to_image(x) for x in decode(drawn[:16])])
    if args.demo is not None:
        record = json.loads((args.demo / "styledrop" / "generation.json").read_text())
        files = [args.demo / "styledrop" / r["file"] for r in record["images"]]
        ids = tokenizer.encode(torch.stack([image_to_tensor(Image.open(f).convert("RGB")) for f in files]))
        per_content = len(files) // len(DEMO_CONTENTS)
        asked = [SimpleNamespace(style=REFERENCE_STYLE, caption=c) for c in DEMO_CONTENTS for _ in range(per_content)]
        demo_reals = real_features(style_records(records, {REFERENCE_STYLE}), base.resolution, "cpu")
        for label, decode in decoders.items():
            table[label]["the demo's StyleDrop drawings"] = read(decode(ids), asked, demo_reals)
            rows.append([tensor_to_image(x) for x in decode(ids)])
    make_grid(rows, min_cell=64).save(args.out / "decoded.png")
    report = {"steps": args.steps, "train_seconds": round(seconds), "noise": args.noise, "sampler": config.__dict__,
              "demo_descriptor": DESCRIPTOR, "rows": table}
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(f"\n{args.steps} training steps of {BATCH} in {seconds:.0f} s; rows of {args.out / 'decoded.png'}: "
          "the base's held-out pairs (pasted, learned)" + (", the demo's drawings (pasted, learned)" if args.demo else ""))
    print("| measure | " + " | ".join(decoders) + " |\n|---|" + "---:|" * len(decoders))
    for key in table["pasted centroids"]:
        cells = []
        for label in decoders:
            value = table[label][key]
            if isinstance(value, float):
                cells.append(f"{value:.2f} dB")
            else:
                kid = f", KID {value['kid']['value']:.5f} ± {value['kid']['standard_error']:.5f}" if "kid" in value else ""
                cells.append(f"style {value['style_accuracy']:.3f}, top-1 {value['content_top1']:.3f} / top-5 "
                             f"{value['content_top5']:.3f}{kid}")
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
