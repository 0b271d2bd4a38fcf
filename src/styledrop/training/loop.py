"""`train_adapter`: tune an adapter on a few (image, caption) pairs; the base stays frozen.

Recipe (STYLEDROP.md section 3; paper defaults): AdamW, lr 3e-5, 1000 steps, batch 8 made of the
style image(s) repeated, masked-token cross-entropy on the masked positions with the cosine
schedule, and the caption dropped 10% of the time (replaced by the empty prompt's embedding, as
aMUSEd trains) so that guidance has an unconditional model to push against.

The set is tiny and the base frozen, so images are tokenized and captions encoded ONCE. One
`torch.Generator` seeded from `seed` drives everything: adapter init, batch order, masks, dropout.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..adapters.base import AdapterConfig
from ..adapters.factory import base_parameter_count, new_adapter
from ..adapters.io import AdapterFile, save_adapter_file
from ..base import BaseModel
from ..errors import StyleDropError
from .checkpoint import Checkpoint, checkpoint_path, load_checkpoint, save_checkpoint
from .masking import mask_tokens


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    lr: float = 3e-5
    batch_size: int = 8
    weight_decay: float = 0.0
    cond_dropout: float = 0.1
    seed: int = 0
    checkpoint_every: int = 100
    adapter_kind: Literal["styledrop", "lora"] = "styledrop"
    rank: int = 4
    shared: bool = True
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def adapter_config(self) -> AdapterConfig:
        return AdapterConfig(kind=self.adapter_kind, rank=self.rank, shared=self.shared)


@dataclass
class TrainResult:
    adapter: AdapterFile
    losses: list[float]
    trainable_parameters: int
    base_parameters: int


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise StyleDropError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return torch.device(name)


def train_adapter(
    base: BaseModel,
    images: torch.Tensor,  # (I, 3, H, W) in [0, 1], at the base's resolution
    captions: list[str],
    config: TrainConfig,
    out: Path,
    *,
    style_descriptor: str = "",
    resume: bool = False,
    lineage: dict | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """Train, checkpoint every `config.checkpoint_every` steps, and write the adapter file `out`."""
    if len(captions) != len(images):
        raise StyleDropError(f"{len(images)} images but {len(captions)} captions: give one caption per image")
    device = pick_device(config.device)
    base.to(device)
    transformer = base.transformer
    tokens = base.image_tokenizer.encode(images.to(device)).flatten(1)  # (I, N), once
    text = base.text_encoder.encode([*captions, ""]).to(device)  # captions, then the empty prompt
    empty = len(captions)

    generator = torch.Generator().manual_seed(config.seed)
    adapter = new_adapter(config.adapter_config(), transformer, generator)
    params = adapter.trainable_parameters()
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    ckpt_file = checkpoint_path(out)
    start, losses = 0, []
    if resume and ckpt_file.exists():
        ckpt = load_checkpoint(ckpt_file)
        changed = sorted(k for k, v in asdict(config).items() if k != "steps" and ckpt.settings.get(k) != v)
        if changed:  # more steps is fine: that is how a finished run is extended
            raise StyleDropError(f"cannot resume from {ckpt_file}: settings changed since it was written ({', '.join(changed)}); "
                                 "use the same settings or delete the checkpoint")
        adapter.load_adapter_state({k: v.to(device) for k, v in ckpt.weights.items()})
        optimizer.load_state_dict(ckpt.optimizer)
        generator.set_state(ckpt.rng)
        start, losses = ckpt.step, ckpt.losses

    autocast = torch.autocast("cuda", torch.bfloat16) if device.type == "cuda" else nullcontext()
    height, width = base.grid
    micro = base.micro_conds(config.batch_size)
    transformer.train()
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, desc="training", disable=not show_progress)
    try:
        for step in bar:
            pick = torch.randint(len(tokens), (config.batch_size,), generator=generator)  # (B,)
            target = tokens[pick.to(device)]  # (B, N)
            inputs, masked = mask_tokens(target, base.mask_id, generator, base.schedule)
            dropped = torch.rand(config.batch_size, generator=generator) < config.cond_dropout
            rows = text.index(torch.where(dropped, empty, pick))
            with autocast:
                logits = transformer(inputs.view(-1, height, width), encoder_hidden_states=rows.states,
                                     pooled_text_emb=rows.pooled, micro_conds=micro)  # (B, V, h, w)
            logits = logits.flatten(2).transpose(1, 2).float()  # (B, N, V)
            loss = F.cross_entropy(logits[masked], target[masked])
            if not math.isfinite(loss.item()):
                raise StyleDropError(f"training diverged at step {step + 1} (loss {loss.item()}); lower --lr (now {config.lr})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(round(loss.item(), 5))
            bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
            done = step + 1
            if done % config.checkpoint_every == 0 or done == config.steps:
                save_checkpoint(Checkpoint(done, adapter.adapter_state(), optimizer.state_dict(), generator.get_state(),
                                           asdict(config), losses), ckpt_file)
    finally:
        bar.close()
        transformer.eval()

    trainable, base_params = adapter.num_parameters(), base_parameter_count(transformer, adapter)
    file = AdapterFile(
        config=adapter.config, tensors=adapter.adapter_state(), base_id=base.name, base_hash=base.transformer_hash(),
        captions=list(captions), style_descriptor=style_descriptor, training=asdict(config), seed=config.seed,
        lineage=lineage or {},
    )
    adapter.detach()
    save_adapter_file(file, out)
    file.path = Path(out)
    return TrainResult(file, losses, trainable, base_params)
