"""Pretrain the emoji-world base: a patch k-means tokenizer and a UVit2DModel (CPU or GPU).

Only the pretraining split is used (the four pretraining style sets, minus the held-out
(content, style) pairs); held-out styles never reach the tokenizer or the transformer. The tokenizer
is fitted on the whole pretraining split; the transformer, by default, on the 128 contents of
`base_contents.json` (why: see that file), so that each image is seen hundreds of times in budget.

Captions: "A {noun} in {style words} style" with the noun drawn from the content's caption and
synonyms, and with probability `plain_caption` just "A {noun}", so that the base also answers
prompts that name no style (StyleDrop prompts name a style the base has never seen). Style words
are the set's name ("twemoji", "fluent flat"): short, distinct word pieces for MiniLM. With
probability `style_only_caption` the caption names the style and no content ("An emoji in twemoji
style"), so that the base also knows each style apart from any one drawing: composable guidance
can then add the style alone to a (content, style) prompt (the sampler's `style_only_scale`).

Style variants (`variants`; by default all of them, at 20%): a share of each batch comes from
procedural variants of the same images (outlined, line art, silhouette, posterized, grayscale;
`styledrop.world.variants`), captioned "A cow in twemoji outlined style", so that the base
learns style as axes it can combine rather than four memorised looks. The tokenizer is fitted
on them too.

All prompts are encoded once; all images (and their mirror images) are tokenized once. Training
is masked-token cross-entropy with the shared cosine schedule, with a learned position
embedding (UVit2DModel has none; see `styledrop.base.position`), and 10% condition dropout, AdamW
with warm-up and cosine decay, checkpoints every `checkpoint_every` steps (atomic) and an exact
resume. The finished base is written in aMUSEd layout with fp16 transformer weights.

With `init` (a base folder), training continues from that base's tokenizer and weights with a
fresh optimizer and learning-rate schedule, e.g. to train the bundled base on with another recipe;
with `tokenizer` (a fitted vqvae folder) it trains over that tokenizer, and with both it moves the
base onto the new codebook (`starting_point`).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from ..base import AESTHETIC_SCORE, BaseModel, save_base
from ..base.patch_tokenizer import PatchKMeansTokenizer, psnr
from ..base.position import PositionalUVit2DModel
from ..base.text import TextEmbedding
from ..base.text.minilm import MiniLMTextEncoder
from ..base.tokenizer import ImageTokenizer, load_tokenizer_folder, same_tokenizer
from ..captions import find_descriptor, style_caption, style_only_prompt
from ..config import jsonable, save_settings
from ..describe import STYLES_FILE, base_style_words, write_style_words
from ..errors import StyleDropError
from ..images import image_to_tensor
from ..progress import progress_bar
from ..training.checkpoint import Checkpoint, changed_settings, load_checkpoint, save_checkpoint
from ..training.masking import mask_tokens, masked_token_loss
from ..training.precision import check_precision, training_precision
from ..training.schedule import warmup_cosine
from ..world.manifest import ManifestRecord, load_manifest
from ..world.styles import STYLE_WORDS
from ..world.variants import VARIANT_WORDS, VARIANTS, render_variant
from .starting_point import current_layout, init_tokenizer, load_init_weights, named_tokenizer

STYLE_VARIANTS = tuple(VARIANTS)  # all of them: outlined, line-art, silhouette, posterized, grayscale


@dataclass(frozen=True)
class PretrainConfig:
    resolution: int = 32
    patch: int = 2
    codes: int = 1024
    kmeans_iterations: int = 20
    hidden: int = 192
    layers: int = 6
    heads: int = 4
    block_channels: int = 96
    # The conv blocks take the token grid down 2x for the transformer layers and back (as aMUSEd-512 does);
    # False keeps the transformer on the token grid itself, for a coarse tokenizer (8 x 8 tokens of f = 4).
    downsample: bool = True
    text_max_length: int = 16
    # What the adaptive norms' pooled text vector reads: "caption" (the whole caption, as aMUSEd) or
    # "style" (its style words alone; styledrop.base.text.minilm says why). Saved with the base.
    pooled_text: str = "caption"
    batch_size: int = 32
    steps: int = 5000  # ~95 min on this 2-core CPU with both threads (models/emoji-base/README.md)
    # "base": the 128 contents of base_contents.json; "core": those and the few that the demo and the one-image
    # benchmark draw besides (the file's core_additions); "all": the whole vocabulary
    contents: str = "base"
    mirror: bool = False  # also train on mirror images (twice the data, half the epochs)
    # Procedural style variants of the transformer's images (styledrop.world.variants), and the share
    # of each batch drawn from them; the rest comes from the real sets.
    variants: tuple[str, ...] = STYLE_VARIANTS  # () for none
    variant_share: float = 0.2
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 0.01
    cond_dropout: float = 0.1
    plain_caption: float = 0.2
    style_only_caption: float = 0.0  # share of captions that name the style and no content (module docstring)
    seed: int = 0
    checkpoint_every: int = 250
    threads: int = 2
    # "bf16": autocast on the CPU's AMX units, attention in fp32 (styledrop.training.precision); 0.70 of fp32's
    # time per step on this 2-core CPU (benchmarks/cpu_autocast.py). "fp32": as every bundled base was trained.
    precision: str = "fp32"
    # A base folder to continue from (its tokenizer and transformer weights; the fields above that shape
    # the model must match it); "" trains from scratch. The optimizer and the schedule start afresh.
    init: str = ""
    # A tokenizer folder to train over instead of fitting one: a vqvae folder written by pretrain, or a
    # diffusers VQModel folder (benchmarks/vq_tokenizer.py writes one; `patch` must be its downscale factor).
    # With `init` and another patch codebook, the init weights are carried over to its codes (retarget_vocabulary).
    tokenizer: str = ""


def caption_variants(record: ManifestRecord, variant: str | None = None) -> tuple[list[str], list[str]]:
    """(styled captions, plain captions) for one training image, or its procedural `variant`.

    A variant's "plain" captions are its styled ones: a prompt that names no style must keep
    meaning the real sets' look, not an average of outlines, silhouettes and grey (a base trained
    with plain captions on variants drew "A cow" as a grey blob; models/emoji-base/README.md).
    """
    nouns = [record.caption, *record.synonyms[:2]]
    words = STYLE_WORDS[record.style] + (f" {VARIANT_WORDS[variant]}" if variant else "")
    styled = [style_caption(n, words) for n in nouns]
    return styled, (styled if variant else [f"A {n}" for n in nouns])


def style_only_caption(record: ManifestRecord, variant: str | None = None) -> str:
    """The caption of an image's style alone: "An emoji in fluent flat style" ("... line art style")."""
    return style_only_prompt(STYLE_WORDS[record.style] + (f" {VARIANT_WORDS[variant]}" if variant else ""))


BASE_CONTENTS = Path(__file__).with_name("base_contents.json")
CHECKPOINT = "transformer.ckpt.safetensors"
CONTENT_CHOICES = ("base", "core", "all")


def transformer_records(records: list[ManifestRecord], contents: str) -> list[ManifestRecord]:
    """The pretraining-split records the transformer trains on."""
    if contents not in CONTENT_CHOICES:
        raise StyleDropError(f"pretrain contents {contents!r} is not one of {', '.join(CONTENT_CHOICES)}")
    chosen = [r for r in records if r.split == "pretrain"]
    if contents != "all":
        listed = json.loads(BASE_CONTENTS.read_text())
        wanted = set(listed["contents"]) | set(listed["core_additions"] if contents == "core" else ())
        chosen = [r for r in chosen if r.caption in wanted]
    if not chosen:
        raise StyleDropError(f"no pretraining images for contents={contents!r}; pass contents='all' for this dataset")
    return chosen


def build_transformer(config: PretrainConfig) -> PositionalUVit2DModel:
    grid = config.resolution // config.patch
    return PositionalUVit2DModel(
        hidden_size=config.hidden, use_bias=False, cond_embed_dim=MiniLMTextEncoder.hidden_size,
        micro_cond_encode_dim=32, micro_cond_embed_dim=5 * 32, encoder_hidden_size=MiniLMTextEncoder.hidden_size,
        vocab_size=config.codes + 1, codebook_size=config.codes,  # the last id is [MASK]
        in_channels=config.block_channels, block_out_channels=config.block_channels, num_res_blocks=1,
        downsample=config.downsample, upsample=config.downsample,
        block_num_heads=max(1, config.block_channels // 64), num_hidden_layers=config.layers,
        num_attention_heads=config.heads, intermediate_size=config.hidden * 4, sample_size=grid,
        learned_positions=True,  # UVit2DModel has no position embedding (styledrop.base.position)
    )


def load_images(records: list[ManifestRecord], size: int) -> torch.Tensor:
    from PIL import Image

    return torch.stack([image_to_tensor(Image.open(r.paths[size]).convert("RGB")) for r in records])


def variant_images(records: list[ManifestRecord], variants: tuple[str, ...], size: int
                   ) -> tuple[torch.Tensor, list[tuple[ManifestRecord, str]]]:
    """Every record drawn in every variant (from its largest file), and the (record, variant) of each image."""
    from PIL import Image

    owners = [(r, v) for v in variants for r in records]
    if not owners:
        return torch.empty(0, 3, size, size), owners
    images = [render_variant(Image.open(r.paths[max(r.paths)]).convert("RGB"), v, size) for r, v in owners]
    return torch.stack([image_to_tensor(image) for image in images]), owners


@dataclass
class TrainingSet:
    """What the transformer trains on, prepared once: image tokens and the captions that go with them."""

    tokens: torch.Tensor  # (I, N) code ids: the real sets' images first, then the variants
    real: int  # how many of the rows are real images
    prompts: list[str]  # every caption, sorted; "" (dropped condition) included
    styled_ids: list[list[int]]  # per image: indices into prompts of its styled captions
    plain_ids: list[list[int]]  # per image: its captions for a plain prompt
    report: dict
    style_only_ids: list[int] = field(default_factory=list)  # per image: its style-alone caption


def prepare_training_set(data_dir: Path, work_dir: Path, config: PretrainConfig
                         ) -> tuple[TrainingSet, ImageTokenizer]:
    """Fit (or load) the tokenizer in `work_dir`, tokenize the training images, list their captions."""
    unknown = sorted(set(config.variants) - set(VARIANTS))
    if unknown:
        raise StyleDropError(f"pretrain variants {unknown} are not known; choose from {', '.join(VARIANTS)}")
    if not 0.0 <= config.variant_share <= 1.0:
        raise StyleDropError(f"pretrain variant_share {config.variant_share} is not a share; give a value in [0, 1]")
    if not (0.0 <= config.style_only_caption and config.plain_caption + config.style_only_caption <= 1.0):
        raise StyleDropError(f"pretrain plain_caption {config.plain_caption} + style_only_caption "
                             f"{config.style_only_caption} is not a share; keep both >= 0 and their sum <= 1")
    all_records = load_manifest(data_dir)
    records = transformer_records(all_records, config.contents)
    extra, extra_owners = variant_images(records, tuple(config.variants), config.resolution)

    tokenizer_dir = work_dir / "vqvae"
    start = time.time()
    if config.tokenizer or config.init:  # the tokenizer named, else the tokens the init weights know
        source = f"pretrain tokenizer {config.tokenizer}" if config.tokenizer else f"pretrain init {config.init}"
        known = named_tokenizer(Path(config.tokenizer)) if config.tokenizer else init_tokenizer(Path(config.init))
        if known.codebook_size != config.codes:
            raise StyleDropError(f"{source} has {known.codebook_size} codes but codes = {config.codes}; "
                                 f"set codes = {known.codebook_size}")
        if known.downscale != config.patch:
            raise StyleDropError(f"{source} has tokens of {known.downscale} x {known.downscale} pixels but "
                                 f"patch = {config.patch}; set patch = {known.downscale}")
        if not (tokenizer_dir / "config.json").exists():
            known.save(tokenizer_dir)
        elif not same_tokenizer(load_tokenizer_folder(tokenizer_dir), known):
            raise StyleDropError(f"{tokenizer_dir} holds another tokenizer than {source}; "
                                 "use a fresh --work folder to train over that one")
    if (tokenizer_dir / "config.json").exists():
        tokenizer = load_tokenizer_folder(tokenizer_dir)
    else:
        fit_images = load_images([r for r in all_records if r.split == "pretrain"], config.resolution)
        fit_images = torch.cat([fit_images, fit_images.flip(-1), extra])
        kmeans_rng = torch.Generator().manual_seed(config.seed)
        tokenizer = PatchKMeansTokenizer.fit(fit_images, config.patch, config.codes, kmeans_rng,
                                             config.kmeans_iterations)
        tokenizer.save(tokenizer_dir)
    images = load_images(records, config.resolution)  # (I, 3, R, R): the real sets first, then the variants
    owners = [(r, None) for r in records]
    if config.mirror:
        images, owners = torch.cat([images, images.flip(-1)]), owners + owners
    real = len(images)
    images, owners = torch.cat([images, extra]), owners + extra_owners
    tokens = tokenizer.encode(images).flatten(1)  # (I, N), once
    reconstructed = tokenizer.decode(tokens.view(len(images), *tokenizer_grid(config)))
    report = {"tokenizer_seconds": round(time.time() - start, 1), "training_images": real,
              "variant_images": len(images) - real, "training_contents": len({r.content_id for r in records}),
              "tokenizer_psnr_training_images": round(psnr(reconstructed[:real], images[:real]), 2)}

    styled, plain = zip(*(caption_variants(r, v) for r, v in owners))
    alone = [style_only_caption(r, v) for r, v in owners] if config.style_only_caption else []
    prompts = sorted({p for group in styled + plain for p in group} | set(alone) | {""})
    index = {p: i for i, p in enumerate(prompts)}
    data = TrainingSet(tokens=tokens, real=real, prompts=prompts,
                       styled_ids=[[index[p] for p in group] for group in styled],
                       plain_ids=[[index[p] for p in group] for group in plain], report=report,
                       style_only_ids=[index[p] for p in alone])
    return data, tokenizer


def pretrain_base(data_dir: Path, work_dir: Path, out_dir: Path, config: PretrainConfig, *, resume: bool = True,
                  show_progress: bool = True, device: str = "cpu") -> dict:
    """Train tokenizer and transformer; checkpoints go to `work_dir`, the base folder to `out_dir`.

    `config.threads` is for the command (`styledrop pretrain` sets the process's torch threads from it);
    the library leaves the caller's thread count alone."""
    work_dir.mkdir(parents=True, exist_ok=True)
    save_settings(config, work_dir / "pretrain.json")
    data, tokenizer = prepare_training_set(data_dir, work_dir, config)
    encoder = MiniLMTextEncoder(max_length=config.text_max_length, pooled=config.pooled_text)
    text = encoder.encode(data.prompts)  # (P, L, 384), once
    transformer, report = train_transformer(data, text, work_dir, config, resume=resume,
                                            show_progress=show_progress, device=device)
    write_style_words(work_dir, caption_style_words(data.prompts))  # for export_checkpoint too
    write_base(transformer.cpu(), tokenizer, encoder, out_dir, work_dir)
    report = data.report | report
    (work_dir / "report.json").write_text(json.dumps(report, indent=2))
    return report


def train_transformer(data: TrainingSet, text: TextEmbedding, work_dir: Path, config: PretrainConfig, *,
                      resume: bool = True, show_progress: bool = True, device: str = "cpu",
                      time_budget: float | None = None, on_checkpoint=None
                      ) -> tuple[PositionalUVit2DModel, dict]:
    """Masked-token training of a fresh transformer on `data`, checkpointing into `work_dir`.

    All randomness (batches, masks, dropout, captions) is drawn on the CPU, so a run on another
    device sees the same batches. `time_budget` (seconds, optional): after the warm-up, set the
    number of steps so that training ends within it (the cosine decay then spans that many steps).
    `on_checkpoint(step, transformer, config)`, optional, runs after each checkpoint is written.
    """
    check_precision(config.precision, device)
    tokens, real = data.tokens, data.real
    share = config.variant_share if len(tokens) > real else 0.0
    states, pooled = text.states.to(device), text.pooled.to(device)
    empty = data.prompts.index("")
    if config.style_only_caption and len(data.style_only_ids) != len(tokens):
        raise StyleDropError("pretrain style_only_caption > 0 needs the style-alone captions of every image; "
                             "prepare the training set with the same settings")

    generator = torch.Generator().manual_seed(config.seed + 1)  # batches, masks, dropout
    with torch.random.fork_rng(devices=[]):  # UVit2DModel's init draws from the global RNG; keep the caller's
        torch.manual_seed(config.seed)
        transformer = build_transformer(config)
    with torch.no_grad():  # a small random table, as ViT's; its own generator
        transformer.position_embedding.normal_(0, 0.02, generator=torch.Generator().manual_seed(config.seed))
    transformer.to(device)
    optimizer = torch.optim.AdamW(transformer.parameters(), lr=config.lr, betas=(0.9, 0.99),
                                  weight_decay=config.weight_decay, fused=str(device).startswith("cuda") or None)
    ckpt_file = work_dir / CHECKPOINT
    step, losses = 0, []
    if config.init and not (resume and ckpt_file.exists()):
        load_init_weights(transformer, Path(config.init), work_dir / "vqvae")
    if resume and ckpt_file.exists():
        ckpt = load_checkpoint(ckpt_file)
        saved = jsonable(asdict(PretrainConfig())) | ckpt.settings  # a field newer than the run had its default
        if changed := changed_settings(saved, jsonable(asdict(config))):
            raise StyleDropError(f"cannot resume from {ckpt_file}: the recipe changed since it was written "
                                 f"({', '.join(changed)}); use the same settings, or pass --restart to start over")
        weights, optimizer_state = current_layout(ckpt.weights, ckpt.optimizer, transformer)
        transformer.load_state_dict(weights)
        optimizer.load_state_dict(optimizer_state)
        generator.set_state(ckpt.rng)
        step, losses = ckpt.step, ckpt.losses
    picker = random.Random()  # caption choice; its state is derived from the step, so resume is exact
    grid = tokenizer_grid(config)
    micro = torch.tensor([config.resolution, config.resolution, 0, 0, AESTHETIC_SCORE], dtype=torch.float32,
                         device=device).expand(config.batch_size, -1)
    mask_id = config.codes
    transformer.train()
    bar = progress_bar(total=config.steps, initial=step, desc="pretraining", disable=not show_progress)
    train_start, first_step, clock = time.time(), step, {}
    with training_precision(transformer, config.precision, device) as autocast:
        while step < config.steps:
            if time_budget and step - first_step in (config.warmup // 4, config.warmup):  # rate past the first steps
                clock[step - first_step] = time.time()
                if len(clock) == 2:
                    rate = (config.warmup - config.warmup // 4) / (clock[config.warmup] - clock[config.warmup // 4])
                    left = time_budget - (time.time() - train_start)
                    config = replace(config, steps=max(step + 1, step + int(rate * left)))
                    bar.total = config.steps
            for group in optimizer.param_groups:
                group["lr"] = warmup_cosine(step, config.lr, config.warmup, config.steps)
            picker.seed(config.seed * 1_000_003 + step)
            from_variants = torch.rand(config.batch_size, generator=generator) < share
            pick = torch.where(from_variants,
                               real + torch.randint(max(1, len(tokens) - real), (config.batch_size,), generator=generator),
                               torch.randint(real, (config.batch_size,), generator=generator))
            rows = caption_rows(data, pick.tolist(), config, picker)
            dropped = torch.rand(config.batch_size, generator=generator) < config.cond_dropout
            rows = torch.where(dropped, empty, torch.tensor(rows)).to(device)
            target = tokens[pick]
            inputs, masked = mask_tokens(target, mask_id, generator)
            target, inputs, masked = target.to(device), inputs.to(device), masked.to(device)
            with autocast():
                loss = masked_token_loss(transformer, inputs, masked, target, grid, states[rows], pooled[rows], micro)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(transformer.parameters(), 1.0)
            optimizer.step()
            step += 1
            losses.append(round(loss.item(), 4))
            bar.update(1)
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
            if step % config.checkpoint_every == 0 or step == config.steps:
                save_checkpoint(Checkpoint(step, transformer.state_dict(), optimizer.state_dict(), generator.get_state(),
                                           asdict(config), losses), ckpt_file)
                if on_checkpoint:
                    on_checkpoint(step, transformer, config)
    bar.close()
    report = {"steps": step, "train_seconds_this_run": round(time.time() - train_start, 1), "device": device,
              "final_loss_avg50": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4)}
    return transformer, report


def caption_rows(data: TrainingSet, images: list[int], config: PretrainConfig, picker: random.Random) -> list[int]:
    """One caption (an index into data.prompts) per image of a batch: plain with probability
    `plain_caption`, the style alone with probability `style_only_caption`, else a styled one."""
    rows = []
    for i in images:
        u = picker.random()
        if u < config.plain_caption:
            rows.append(picker.choice(data.plain_ids[i]))
        elif u < config.plain_caption + config.style_only_caption:
            rows.append(data.style_only_ids[i])
        else:
            rows.append(picker.choice(data.styled_ids[i]))
    return rows


def caption_style_words(prompts: list[str]) -> list[str]:
    """The style words of the training captions, then the variants' words alone ("outlined"), which a
    user would type and the text encoder places near the captions that carry them."""
    found = sorted({d for d in map(find_descriptor, prompts) if d})
    return found + [w for w in VARIANT_WORDS.values() if w not in found]


def write_base(transformer: PositionalUVit2DModel, tokenizer: ImageTokenizer, encoder: MiniLMTextEncoder,
               out_dir: Path, work_dir: Path) -> None:
    transformer.eval().requires_grad_(False).half()
    if transformer.position_embedding is not None:  # the table stays float32, as trained (96 kB)
        transformer.position_embedding.data = transformer.position_embedding.data.float()
    base = BaseModel(name="styledrop/emoji-base", transformer=transformer, image_tokenizer=tokenizer,
                     text_encoder=encoder, mask_id=tokenizer.codebook_size)
    save_base(base, out_dir)
    if (work_dir / STYLES_FILE).is_file():
        write_style_words(out_dir, base_style_words(work_dir))


def export_checkpoint(work_dir: Path, out_dir: Path) -> int:
    """Write a base folder from the latest checkpoint in `work_dir` (a running job keeps running)."""
    ckpt_file = work_dir / CHECKPOINT
    if not ckpt_file.exists():
        raise StyleDropError(f"{work_dir} has no {CHECKPOINT} yet: wait for the first checkpoint")
    ckpt = load_checkpoint(ckpt_file)
    config = PretrainConfig(**ckpt.settings)
    transformer = build_transformer(config)
    weights, _ = current_layout(ckpt.weights, ckpt.optimizer, transformer)
    transformer.load_state_dict(weights)
    encoder = MiniLMTextEncoder(max_length=config.text_max_length, pooled=config.pooled_text)
    write_base(transformer, load_tokenizer_folder(work_dir / "vqvae"), encoder, out_dir, work_dir)
    return ckpt.step


def tokenizer_grid(config: PretrainConfig) -> tuple[int, int]:
    side = config.resolution // config.patch
    return side, side
