"""Wall time per image: our pipeline against diffusers' AmusedPipeline on the same checkpoint.

A random "bench" base (UVit2DModel ~9M parameters, 16x16 tokens, codebook 512, 64x64 images,
tiny CLIP text encoder) is built in a temp folder; both pipelines draw the same prompts with the
same steps and plain CFG, from prompt to decoded image. Then ours with StyleDrop's two-scale
guidance (an adapter attached, three terms per step instead of two).

    .venv/bin/python benchmarks/sampler_vs_diffusers.py [--steps 12] [--images 8] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from diffusers import AmusedPipeline
from diffusers.utils import logging as diffusers_logging

from styledrop.adapters.base import AdapterConfig
from styledrop.adapters.factory import new_adapter
from styledrop.base import load_base
from styledrop.pipeline import SampleConfig, StyleDropPipeline
from styledrop.testing import make_random_base

PROMPT = "A cow in [V] style"


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (the latter is robust to other
    jobs on the machine when torch runs one thread)."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch threads (use 1 when another job holds a core: oversubscribed threads stall)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    diffusers_logging.disable_progress_bar()
    torch.set_grad_enabled(False)

    with tempfile.TemporaryDirectory() as folder:
        make_random_base(Path(folder), size="bench", text="clip", seed=0)
        base = load_base(folder)
        theirs = AmusedPipeline.from_pretrained(folder)
        theirs.set_progress_bar_config(disable=True)
        params = sum(p.numel() for p in base.transformer.parameters())
        n = args.images
        plain = SampleConfig(steps=args.steps, num_images=n, batch_size=n, content_scale=5.0, temperature=2.0)
        ours = StyleDropPipeline(base)

        def run_theirs():
            theirs(PROMPT, num_images_per_prompt=n, num_inference_steps=args.steps, guidance_scale=6.0,
                   generator=torch.Generator().manual_seed(0), temperature=(2.0, 0))

        rows = [("diffusers AmusedPipeline, CFG", timed(run_theirs, args.repeats))]
        rows.append(("styledrop, CFG", timed(lambda: ours.generate([PROMPT], plain, show_progress=False), args.repeats)))
        adapter = new_adapter(AdapterConfig(rank=4), base.transformer, torch.Generator().manual_seed(0))
        styled = StyleDropPipeline(base, style=adapter)
        two = SampleConfig(**{**plain.__dict__, "style_scale": 1.0})
        rows.append(("styledrop, two-scale (Eq. 4)", timed(lambda: styled.generate([PROMPT], two, show_progress=False),
                                                         args.repeats)))

    print(f"transformer {params / 1e6:.1f}M params, 16x16 tokens, {args.steps} steps, {n} images per call, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"| {'pipeline':<30} | {'wall s/image':>12} | {'CPU s/image':>11} | {'CPU vs diffusers':>16} | {'CPU vs our CFG':>14} |")
    print(f"|{'-' * 32}|{'-' * 14}|{'-' * 13}|{'-' * 18}|{'-' * 16}|")
    for name, (wall, cpu) in rows:
        print(f"| {name:<30} | {wall / n:>12.3f} | {cpu / n:>11.3f} | {cpu / rows[0][1][1]:>15.2f}x | "
              f"{cpu / rows[1][1][1]:>13.2f}x |")


if __name__ == "__main__":
    main()
