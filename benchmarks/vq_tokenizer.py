"""A learned VQ tokenizer for the emoji world: tokens that carry shape.

Trains diffusers' `VQModel` with f=4 at 32 px (8 x 8 = 64 tokens per image, against the bundled
patch k-means tokenizer's 16 x 16 = 256 tokens of 2 x 2 pixels) on the pretraining split and its
mirror images, with an L1 reconstruction loss, a perceptual loss (the frozen EfficientNet-Lite0's
early feature maps, `styledrop.evaluation.features`, at 96 px) and the VQ commitment loss. Then it
reports, beside the bundled tokenizer, what decides a tokenizer for this project: PSNR on the
pretraining and held-out styles, codebook use, and the bundled scorers' reading of the tokenized
held-out pairs (style accuracy, content top-1; the best any drawing over those tokens can read
as). Checkpoints into --work every --checkpoint-every steps and resumes from there; --minutes
stops a run early (the schedule is constant, so a stopped run can be continued with more). The
trained tokenizer is written to --work/vqvae, a diffusers VQModel folder that `styledrop pretrain`
trains a base over (`tokenizer = "runs/vq-f4/vqvae"`, `patch = 4`, `downsample = false`).

Against codebook collapse (a first run used 40 of 1,024 codes), the codebook starts on the
encoder's outputs, codes that no latent chose for --restart-every steps move onto live latents,
and the VQ loss weighs the codebook term 1 and the commitment term 0.25 (VQ-VAE's weights;
diffusers' legacy quantizer has them the other way round).

    .venv/bin/python benchmarks/vq_tokenizer.py [--data data/emoji] [--work runs/vq-f4]
        [--steps 2000] [--minutes 20] [--threads 2] [--codes 1024] [--restart-every 25]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import VQModel
from PIL import Image

from styledrop.base.patch_tokenizer import PatchKMeansTokenizer, psnr
from styledrop.base.tokenizer import VQTokenizer
from styledrop.evaluation.features import MEAN, STD, load_efficientnet_lite0
from styledrop.evaluation.runs import grade
from styledrop.evaluation.scorers import Scorers
from styledrop.images import image_to_tensor, tensor_to_image
from styledrop.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from styledrop.world.manifest import load_manifest

CHECKPOINT = "vq.ckpt.safetensors"
VQ_CONFIG = dict(  # f = 2 ** (len(block_out_channels) - 1) = 4; about 1M parameters
    in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
    up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(32, 64, 64), layers_per_block=1,
    latent_channels=16, vq_embed_dim=16, num_vq_embeddings=1024, norm_num_groups=16, sample_size=32,
    lookup_from_codebook=True, mid_block_add_attention=False)
PERCEPTUAL_SIZE, PERCEPTUAL_BLOCKS, PERCEPTUAL_WEIGHT = 96, 4, 0.005  # raw feature MSE ~60x the L1 at init
COMMITMENT = 0.25


def load_images(records, size: int) -> torch.Tensor:
    return torch.stack([image_to_tensor(Image.open(r.paths[size]).convert("RGB")) for r in records])


def early_features(net, pixels: torch.Tensor) -> torch.Tensor:
    """EfficientNet-Lite0's stem and first blocks on (N, 3, H, W) in [0, 1]: a map of edges and fills."""
    x = F.interpolate(pixels, size=(PERCEPTUAL_SIZE,) * 2, mode="bilinear", align_corners=False)
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    h = F.relu6(net._bn0(net._conv_stem(x)))
    for block in net._blocks[:PERCEPTUAL_BLOCKS]:
        h = block(h)
    return h


def quantize(vq: VQModel, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(straight-through quantized latents, VQ loss, ids) for (B, D, h, w) encoder outputs.

    The loss is the VQ-VAE paper's: the codebook term at weight 1 and the commitment term at
    COMMITMENT. diffusers' VectorQuantizer (legacy=True) weighs them the other way round, which
    pulls the encoder onto a few codes faster than the codebook can follow.
    """
    b, d, h, w = latents.shape
    flat = latents.permute(0, 2, 3, 1).reshape(-1, d)
    codebook = vq.quantize.embedding.weight
    ids = torch.cdist(flat.detach(), codebook.detach()).argmin(1)
    chosen = codebook[ids]
    loss = F.mse_loss(chosen, flat.detach()) + COMMITMENT * F.mse_loss(flat, chosen.detach())
    straight = flat + (chosen - flat).detach()
    return straight.view(b, h, w, d).permute(0, 3, 1, 2), loss, ids


@torch.no_grad()
def restart_dead_codes(vq: VQModel, optimizer, usage: torch.Tensor, latents: torch.Tensor,
                       generator: torch.Generator) -> int:
    """Codes no latent chose since the last restart move onto random latents of this batch.

    Their Adam moments are cleared, so they start where they land. Returns how many moved."""
    dead = (usage == 0).nonzero().flatten()
    if len(dead) == 0:
        return 0
    flat = latents.detach().permute(0, 2, 3, 1).reshape(-1, latents.shape[1])
    embedding = vq.quantize.embedding.weight
    embedding[dead] = flat[torch.randint(len(flat), (len(dead),), generator=generator)]
    state = optimizer.state.get(embedding, {})
    for key in ("exp_avg", "exp_avg_sq"):
        if key in state:
            state[key][dead] = 0
    return len(dead)


def train(images: torch.Tensor, work: Path, steps: int, minutes: float, batch: int, lr: float,
          checkpoint_every: int, codes: int, restart_every: int) -> tuple[VQModel, dict]:
    if restart_every and checkpoint_every % restart_every:
        raise SystemExit(f"--checkpoint-every {checkpoint_every} must be a multiple of --restart-every "
                         f"{restart_every}, so that a resumed run restarts the same codes")
    with torch.random.fork_rng(devices=[]):  # diffusers' init draws from the global RNG
        torch.manual_seed(0)
        vq = VQModel(**(VQ_CONFIG | {"num_vq_embeddings": codes}))
    optimizer = torch.optim.AdamW(vq.parameters(), lr=lr, betas=(0.9, 0.99))
    generator = torch.Generator().manual_seed(1)
    net = load_efficientnet_lite0("cpu")
    settings = {"lr": lr, "batch": batch, "codes": codes, "restart_every": restart_every}
    step, losses, restarted = 0, [], 0
    if (work / CHECKPOINT).exists():
        ckpt = load_checkpoint(work / CHECKPOINT)
        if ckpt.settings != settings:
            raise SystemExit(f"{work / CHECKPOINT} was trained with {ckpt.settings}, not {settings}; "
                             "pass the same settings or another --work")
        vq.load_state_dict(ckpt.weights)
        optimizer.load_state_dict(ckpt.optimizer)
        generator.set_state(ckpt.rng)
        step, losses = ckpt.step, ckpt.losses
    start, first = time.time(), step
    usage, used = torch.zeros(codes, dtype=torch.long), 0

    def save() -> None:
        save_checkpoint(Checkpoint(step, vq.state_dict(), optimizer.state_dict(), generator.get_state(),
                                   settings, losses), work / CHECKPOINT)

    vq.train()
    while step < steps and time.time() - start < minutes * 60:
        x = images[torch.randint(len(images), (batch,), generator=generator)]  # (B, 3, 32, 32) in [0, 1]
        latents = vq.encode(x).latents  # (B, D, 8, 8)
        if step == 0:  # data-dependent init: the codebook starts on the encoder's outputs
            restart_dead_codes(vq, optimizer, torch.zeros(codes), latents, generator)
        quantized, vq_loss, ids = quantize(vq, latents)
        recon = vq.decoder(vq.post_quant_conv(quantized))  # VQModel.decode after its quantizer
        parts = {"l1": F.l1_loss(recon, x), "vq": vq_loss,
                 "perceptual": PERCEPTUAL_WEIGHT * F.mse_loss(early_features(net, recon), early_features(net, x))}
        loss = sum(parts.values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        usage += torch.bincount(ids, minlength=codes)
        if restart_every and step % restart_every == 0:
            restarted += restart_dead_codes(vq, optimizer, usage, latents, generator)
            used = int((usage > 0).sum())
            usage.zero_()
        losses.append(round(loss.item(), 4))
        if step % 50 == 0:
            terms = ", ".join(f"{k} {v.item():.4f}" for k, v in parts.items())
            print(f"step {step}: loss {sum(losses[-50:]) / 50:.4f} (last: {terms}; codes used in the last "
                  f"window {used if restart_every else '-'}, restarted so far {restarted}; "
                  f"{time.time() - start:.0f} s)", flush=True)
        if step % checkpoint_every == 0:
            save()
    save()
    return vq.eval(), {"steps": step, "seconds_this_run": round(time.time() - start, 1), "steps_this_run": step - first,
                       "codes_restarted_this_run": restarted,
                       "final_loss_avg50": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4)}


def judge(tokenizer, pairs, images: dict, scorers) -> dict:
    """PSNR per split, codebook use, and what the scorers read in the tokenized held-out pairs."""
    report, decoded = {}, {}
    for name, pixels in images.items():
        ids = tokenizer.encode(pixels)  # each split once
        decoded[name] = tokenizer.decode(ids)
        report[f"psnr_{name}"] = round(psnr(decoded[name], pixels), 2)
        report[f"codes_used_{name}"] = int(ids.unique().numel())
        report["tokens_per_image"] = int(ids[0].numel())
    read = grade([tensor_to_image(t) for t in decoded["heldout_pairs"]], pairs, scorers)
    report["heldout_pairs_style"], report["heldout_pairs_top1"] = read["style_accuracy"], read["content_top1"]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--work", type=Path, default=Path("runs/vq-f4"))
    parser.add_argument("--patch-tokenizer", type=Path, default=Path("models/emoji-base/vqvae"))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=20.0, help="stop this run after this long")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--codes", type=int, default=1024, help="codebook size")
    parser.add_argument("--restart-every", type=int, default=25,
                        help="move codes unused for this many steps onto live latents (0: never)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    records = load_manifest(args.data)
    train_images = load_images([r for r in records if r.split == "pretrain"], 32)
    train_images = torch.cat([train_images, train_images.flip(-1)])
    pairs = [r for r in records if r.split == "heldout_pair"]
    images = {"pretrain": train_images[: len(train_images) // 2],
              "heldout_styles": load_images([r for r in records if r.split == "heldout_style"], 32),
              "heldout_pairs": load_images(pairs, 32)}
    vq, training = train(train_images, args.work, args.steps, args.minutes, args.batch_size, args.lr,
                         args.checkpoint_every, args.codes, args.restart_every)
    vq.save_pretrained(args.work / "vqvae")  # a diffusers VQModel folder: `styledrop pretrain`'s `tokenizer`
    scorers = Scorers.load()
    with torch.no_grad():
        rows = {"patch k-means (bundled)": judge(PatchKMeansTokenizer.load(args.patch_tokenizer), pairs, images, scorers),
                f"VQModel f=4 ({training['steps']} steps)": judge(VQTokenizer(vq), pairs, images, scorers)}
    (args.work / "report.json").write_text(json.dumps({"training": training, "rows": rows}, indent=2))
    keys = list(next(iter(rows.values())))
    print(f"\ntraining: {training}")
    print("| tokenizer | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
