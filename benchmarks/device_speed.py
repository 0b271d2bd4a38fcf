"""Seconds per adapter-training step and per image on one device, for random bases of given sizes.

Runs the library's own code paths (`train_adapter`, `StyleDropPipeline.generate` with two-scale
guidance and an adapter attached), so on a GPU it also checks that they work there. Sizes come from
`styledrop.testing.SIZES` ("bench": a few million parameters; "amused-256": the width, depth, token
grid and codebook of aMUSEd-256's transformer, with random weights and a small text encoder).

    .venv/bin/python benchmarks/device_speed.py [--device cuda] [--sizes bench amused-256]
        [--train-steps 20] [--images 16] [--steps 24]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from styledrop.adapters.io import attach_adapter_file, load_adapter_file
from styledrop.devices import pick_device
from styledrop.pipeline import SampleConfig, StyleDropPipeline
from styledrop.testing import SIZES, make_random_base
from styledrop.training.loop import TrainConfig, train_adapter


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(size: str, device: torch.device, train_steps: int, images: int, steps: int, folder: Path) -> dict:
    base = make_random_base(folder / size, size=size).to(device)
    pixels = torch.rand(1, 3, base.resolution, base.resolution, generator=torch.Generator().manual_seed(0))
    config = TrainConfig(steps=train_steps, lr=1e-4, batch_size=8, rank=4, shared=True, device=str(device),
                         checkpoint_every=10 * train_steps, seed=0)
    adapter_file = folder / f"{size}.safetensors"
    train_adapter(base, pixels, ["A cow in [V] style"], replace(config, steps=2), adapter_file,
                  show_progress=False)  # warm-up: kernels, allocator
    sync(device)
    start = time.perf_counter()
    train_adapter(base, pixels, ["A cow in [V] style"], config, adapter_file, show_progress=False)
    sync(device)
    train_seconds = (time.perf_counter() - start) / train_steps

    file = load_adapter_file(adapter_file)
    pipe = StyleDropPipeline(base, attach_adapter_file(base, file, "style"), None, file.style_descriptor)
    sample = SampleConfig(steps=steps, num_images=images, batch_size=images, style_scale=1.0, content_scale=5.0)
    pipe.generate(["A piano in [V] style"], replace(sample, num_images=2, steps=2), show_progress=False)  # warm-up
    sync(device)
    start = time.perf_counter()
    pipe.generate(["A piano in [V] style"], sample, show_progress=False)
    sync(device)
    image_seconds = (time.perf_counter() - start) / images
    params = sum(p.numel() for p in base.transformer.parameters())
    return {"size": size, "params": params, "train_step_s": train_seconds, "image_s": image_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", nargs="+", default=["bench"], choices=sorted(SIZES))
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--images", type=int, default=16, help="images per timed batch (one batch)")
    parser.add_argument("--steps", type=int, default=24, help="decoding steps per image")
    args = parser.parse_args()
    device = pick_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(size, device, args.train_steps, args.images, args.steps, Path(folder)) for size in args.sizes]
    print(f"device: {name}; adapter: rank 4 shared, batch 8; sampling: two-scale guidance, "
          f"{args.steps} steps, batch {args.images}")
    print("| size | transformer parameters | s / training step | training steps / s | s / image |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['size']} | {r['params'] / 1e6:.1f}M | {r['train_step_s']:.4f} | {1 / r['train_step_s']:.1f} "
              f"| {r['image_s']:.4f} |")


if __name__ == "__main__":
    main()
