"""Does bf16 autocast speed up a pretraining step on this CPU? fp32 against bf16, same step.

This machine's Xeon has AMX and AVX-512 bf16 units, so the bundled base's pretraining step (the
default `PretrainConfig` transformer, a batch of random tokens and text states, masked-token loss,
backward, AdamW) is timed in fp32 and under `torch.autocast("cpu", torch.bfloat16)`, alternating
so that drift in the machine's load falls on both. Prints wall and CPU seconds per step; the loss
is not compared (random data), only the time.

    .venv/bin/python benchmarks/cpu_autocast.py [--threads 1 2] [--batch 64] [--steps 6] [--rounds 2]

`--long STEPS` asks what a long run sees instead: each step masks a new number M of tokens, and
oneDNN builds and caches a bf16 kernel for every new shape of the loss head's matrix products.
It trains STEPS steps with precision "bf16", once with the masked rows padded to a multiple of the
row length (the loss's default) and once unpadded, each in a fresh process, and prints CPU
seconds per step over the first and the last quarter of the steps and the peak resident memory.

    .venv/bin/python benchmarks/cpu_autocast.py --long 400 [--threads 2] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from styledrop.base import AESTHETIC_SCORE
from styledrop.base.text.minilm import MiniLMTextEncoder
from styledrop.pretraining.pretrain import PretrainConfig, build_transformer
from styledrop.training.masking import mask_tokens, masked_token_loss
from styledrop.training.precision import training_precision

WARMUP = 2  # steps per timing left out: the first calls allocate and pick kernels


class RandomStep:
    """One pretraining step of the bundled base's fresh transformer on a batch of random tokens and text."""

    def __init__(self, threads: int, batch: int):
        torch.set_num_threads(threads)
        self.config = config = PretrainConfig()
        self.side = config.resolution // config.patch
        self.transformer = build_transformer(config).train()
        self.optimizer = torch.optim.AdamW(self.transformer.parameters(), lr=1e-4)
        self.generator = torch.Generator().manual_seed(0)
        self.tokens = torch.randint(config.codes, (batch, self.side ** 2), generator=self.generator)
        width = MiniLMTextEncoder.hidden_size
        self.states = torch.randn(batch, config.text_max_length, width, generator=self.generator)
        self.pooled = torch.randn(batch, width, generator=self.generator)
        self.micro = torch.tensor([config.resolution, config.resolution, 0, 0, AESTHETIC_SCORE],
                                  dtype=torch.float32).expand(batch, -1)  # as pretraining conditions

    def __call__(self, context, pad_rows: bool = True) -> None:
        inputs, masked = mask_tokens(self.tokens, self.config.codes, self.generator)  # a new M each step
        with context:
            loss = masked_token_loss(self.transformer, inputs, masked, self.tokens, (self.side, self.side),
                                     self.states, self.pooled, self.micro, pad_rows=pad_rows)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()


def time_steps(threads: int, batch: int, steps: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Mean (wall, CPU) seconds per step of fp32 and bf16 autocast."""
    step_once = RandomStep(threads, batch)
    spent = {"fp32": [], "bf16": [], "bf16-fp32-attention": []}
    for _ in range(rounds):
        for mode in spent:
            precision = "bf16" if mode == "bf16-fp32-attention" else "fp32"  # PretrainConfig.precision's setting
            with training_precision(step_once.transformer, precision, "cpu") as autocast:
                for step in range(WARMUP + steps):
                    context = torch.autocast("cpu", torch.bfloat16) if mode == "bf16" else autocast()
                    wall, cpu = time.perf_counter(), time.process_time()
                    step_once(context)
                    if step >= WARMUP:
                        spent[mode].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {mode: (sum(w for w, _ in t) / len(t), sum(c for _, c in t) / len(t)) for mode, t in spent.items()}


def long_arm(threads: int, batch: int, steps: int, pad_rows: bool) -> dict:
    """One arm of `--long`, in this process: CPU seconds of each step, and the peak resident memory."""
    step_once, spent = RandomStep(threads, batch), []
    with training_precision(step_once.transformer, "bf16", "cpu") as autocast:
        for _ in range(steps):
            cpu = time.process_time()
            step_once(autocast(), pad_rows)
            spent.append(time.process_time() - cpu)
    return {"cpu_seconds": spent, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def print_long(threads: int, batch: int, steps: int) -> None:
    quarter = max(1, steps // 4)
    print("| masked rows | threads | batch | steps | CPU s per step, first quarter | last quarter | peak memory GB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for pad in (True, False):  # each arm in a fresh process, so that neither inherits the other's kernels
        command = [sys.executable, __file__, "--arm", "padded" if pad else "unpadded", "--long", str(steps),
                   "--threads", str(threads), "--batch", str(batch)]
        arm = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        spent = arm["cpu_seconds"]
        first, last = spent[WARMUP:quarter + WARMUP], spent[-quarter:]
        print(f"| {'padded to a multiple of N' if pad else 'unpadded (a new M each step)'} | {threads} | {batch} "
              f"| {steps} | {sum(first) / len(first):.3f} | {sum(last) / len(last):.3f} | "
              f"{arm['peak_rss_gb']:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per mode and round")
    parser.add_argument("--rounds", type=int, default=2, help="fp32 then bf16, this many times")
    parser.add_argument("--long", type=int, metavar="STEPS", help="the padded and unpadded loss over this many steps")
    parser.add_argument("--arm", choices=["padded", "unpadded"], help=argparse.SUPPRESS)  # one arm of --long
    args = parser.parse_args()
    if args.arm:
        print(json.dumps(long_arm(args.threads[0], args.batch, args.long, args.arm == "padded")))
        return
    if args.long:
        for threads in args.threads:
            print_long(threads, args.batch, args.long)
        return
    print("| threads | batch | fp32 wall / CPU s per step | bf16 autocast wall / CPU s per step | bf16 / fp32 wall "
          "| bf16, attention in fp32 (precision 'bf16') wall / CPU s | its / fp32 wall |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for threads in args.threads:
        result = time_steps(threads, args.batch, args.steps, args.rounds)
        (w32, c32), (w16, c16), (wa, ca) = result["fp32"], result["bf16"], result["bf16-fp32-attention"]
        print(f"| {threads} | {args.batch} | {w32:.3f} / {c32:.3f} | {w16:.3f} / {c16:.3f} | {w16 / w32:.2f} "
              f"| {wa:.3f} / {ca:.3f} | {wa / w32:.2f} |", flush=True)


if __name__ == "__main__":
    main()
