"""`train_adapter`: tune an adapter on a few (image, caption) pairs; the base stays frozen.

Recipe (STYLEDROP.md section 3; paper defaults): AdamW, lr 3e-5, 1000 steps, batch 8 made of the
style image(s) repeated, masked-token cross-entropy on the masked positions with the cosine
schedule, and the caption dropped 10% of the time (replaced by the empty prompt's embedding, as
aMUSEd trains) so that guidance has an unconditional model to push against.

The set is tiny and the base frozen, so images are tokenized and captions encoded ONCE. One
`torch.Generator` seeded from `seed` drives everything: adapter init, batch order, masks, dropout.

A checkpoint records the run it belongs to (settings, base hash, images hash, captions), and a
resume refuses any other run by name. A run that finishes removes its checkpoint once the adapter
is written (`keep_checkpoint` keeps it, to extend the run later with more steps). `check_out` is
what the commands ask first: without --overwrite, no run replaces a file or checkpoint that is
not its own.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..adapters.base import AdapterConfig, AdapterKind
from ..adapters.factory import new_adapter
from ..adapters.io import AdapterFile, load_adapter_file, png_bytes, save_adapter_file
from ..base import BaseModel, hash_state_dict
from ..base.text import warn_if_cut
from ..config import setting
from ..devices import pick_device
from ..errors import StyleDropError
from ..files import check_writable_folder, remove_stale_temps
from ..images import tensor_to_image
from ..progress import progress_bar
from .checkpoint import Checkpoint, changed_settings, checkpoint_path, load_checkpoint, save_checkpoint
from .masking import mask_tokens, masked_token_loss


@dataclass(frozen=True)
class TrainConfig:
    steps: int = setting(1000, at_least=1)
    lr: float = setting(3e-5, above=0)
    batch_size: int = setting(8, at_least=1)
    weight_decay: float = setting(0.0, at_least=0)
    cond_dropout: float = setting(0.1, at_least=0, at_most=1)
    seed: int = 0
    checkpoint_every: int = setting(100, at_least=1)
    adapter_kind: AdapterKind = "styledrop"  # or lora, adain; full: a full fine-tune (not an adapter)
    rank: int = setting(4, at_least=1)
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


def check_out(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse, before any work, a run that would replace what is not its own.

    Without `overwrite`, OUT is replaced only by a resumed run of OUT's checkpoint, and that
    checkpoint only by its own run (`train_adapter` checks that it is the same run).
    """
    out, ckpt = Path(out), checkpoint_path(out)
    if out.is_dir():
        raise StyleDropError(f"--out {out} is a folder; give the adapter file to write, e.g. {out / 'adapter.safetensors'}")
    check_writable_folder(out.parent)
    if overwrite:
        return
    if out.exists():
        try:
            load_adapter_file(out)
        except StyleDropError:
            raise StyleDropError(f"--out {out} exists and is not a styledrop adapter; choose another --out, "
                                 "or pass --overwrite to replace it") from None
    if ckpt.exists() and not resume:
        raise StyleDropError(f"{ckpt} holds the checkpoint of an earlier run; pass --resume to continue it, "
                             "or --overwrite to start over")
    if out.exists() and not ckpt.exists():
        if resume:
            raise StyleDropError(f"--out {out} is a finished run: its checkpoint {ckpt.name} was removed when it "
                                 "ended, so it cannot be continued (train with --keep-checkpoint to extend a run "
                                 "later); choose another --out, or pass --overwrite to start over")
        raise StyleDropError(f"--out {out} is an adapter of an earlier run; choose another --out, "
                             "or pass --overwrite to replace it")


def resume_point(ckpt_file: Path, config: TrainConfig, run: dict) -> Checkpoint:
    """The checkpoint to continue from; a checkpoint of another run is refused, naming what differs."""
    ckpt = load_checkpoint(ckpt_file)
    cannot = f"cannot resume from {ckpt_file}"
    recipe = {k: v for k, v in ckpt.settings.items() if k != "run"}
    changed = changed_settings(recipe, asdict(config))  # more steps, another device or cadence: fine
    if changed:
        raise StyleDropError(f"{cannot}: settings changed since it was written ({', '.join(changed)}); "
                             "use the same settings, or pass --overwrite to start over")
    saved = ckpt.settings.get("run", {})
    if saved.get("base_hash") != run["base_hash"]:
        raise StyleDropError(f"{cannot}: it was trained on a base with weights {saved.get('base_hash')!r}, but the "
                             f"base given has weights {run['base_hash']!r}; pass that run's --base, or --overwrite")
    if saved.get("captions") != run["captions"]:
        raise StyleDropError(f"{cannot}: it was trained on the captions {saved.get('captions')!r}, not "
                             f"{run['captions']!r}; give that run's captions, or pass --overwrite to start over")
    if saved.get("images_hash") != run["images_hash"]:
        raise StyleDropError(f"{cannot}: it was trained on other images (hash {saved.get('images_hash')!r}, these "
                             f"are {run['images_hash']!r}); give that run's images, or pass --overwrite to start over")
    if ckpt.step > config.steps:
        raise StyleDropError(f"{cannot}: it is at step {ckpt.step}, past the {config.steps} steps asked for; "
                             f"ask for {ckpt.step} steps or more, or pass --overwrite to start over")
    return ckpt


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
    reference: torch.Tensor | None = None,  # (3, H, W): the style reference to record; default images[0]
    show_progress: bool = True,
    keep_checkpoint: bool = False,
) -> TrainResult:
    """Train, checkpoint every `config.checkpoint_every` steps, and write the adapter file `out`
    (with `reference` in it, for round 2 to default to); then remove the checkpoint, unless
    `keep_checkpoint` (a later `resume` with more steps extends it)."""
    if len(captions) != len(images):
        raise StyleDropError(f"{len(images)} images but {len(captions)} captions: give one caption per image")
    device = pick_device(config.device)
    run = {"base_hash": base.transformer_hash(), "images_hash": hash_state_dict({"images": images}),
           "captions": list(captions)}
    ckpt_file = checkpoint_path(out)
    ckpt = resume_point(ckpt_file, config, run) if resume and ckpt_file.exists() else None
    if ckpt is None:
        ckpt_file.unlink(missing_ok=True)  # a fresh run: nothing may later resume into an earlier run's state
    for target in (out, ckpt_file):
        remove_stale_temps(target)  # half-written files of a killed run
    warn_if_cut(base.text_encoder, captions)
    base.to(device)
    transformer = base.transformer
    tokens = base.image_tokenizer.encode(images.to(device)).flatten(1)  # (I, N), once
    text = base.text_encoder.encode([*captions, ""]).to(device)  # captions, then the empty prompt
    empty = len(captions)

    generator = torch.Generator().manual_seed(config.seed)
    base_params = sum(p.numel() for p in transformer.parameters())  # before LoRA places tensors inside it
    adapter = new_adapter(config.adapter_config(), transformer, generator)
    params = adapter.trainable_parameters()
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    start, losses = 0, []
    if ckpt is not None:
        adapter.load_adapter_state({k: v.to(device) for k, v in ckpt.weights.items()})
        optimizer.load_state_dict(ckpt.optimizer)
        generator.set_state(ckpt.rng)
        start, losses = ckpt.step, ckpt.losses

    autocast = torch.autocast("cuda", torch.bfloat16) if device.type == "cuda" else nullcontext()
    height, width = base.grid
    micro = base.micro_conds(config.batch_size)
    transformer.train()
    bar = progress_bar(range(start, config.steps), initial=start, total=config.steps, desc="training",
                       disable=not show_progress)
    try:
        for step in bar:
            pick = torch.randint(len(tokens), (config.batch_size,), generator=generator)  # (B,)
            target = tokens[pick.to(device)]  # (B, N)
            inputs, masked = mask_tokens(target, base.mask_id, generator, base.schedule)
            dropped = torch.rand(config.batch_size, generator=generator) < config.cond_dropout
            rows = text.index(torch.where(dropped, empty, pick))
            with autocast:
                loss = masked_token_loss(transformer, inputs, masked, target, (height, width), rows.states,
                                         rows.pooled, micro)
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
                                           asdict(config) | {"run": run}, losses), ckpt_file)
    finally:
        bar.close()
        transformer.eval()

    trainable = adapter.num_parameters()
    file = AdapterFile(
        config=adapter.config, tensors=adapter.adapter_state(), base_id=base.name, base_hash=base.transformer_hash(),
        captions=list(captions), style_descriptor=style_descriptor, training=asdict(config), seed=config.seed,
        lineage=lineage or {}, reference_png=png_bytes(tensor_to_image(images[0] if reference is None else reference)),
    )
    adapter.detach()
    save_adapter_file(file, out)
    if not keep_checkpoint:  # after the adapter: a crash between the two leaves a resumable, finished run
        ckpt_file.unlink(missing_ok=True)
    file.path = Path(out)
    return TrainResult(file, losses, trainable, base_params)
