"""Training the scorers: one loop, three losses, checkpoints that resume exactly.

Per step, on a batch of augmented training images (`data.augment`):

- contrastive, image -> text: each image against *every* caption of `captions.caption_table`
  (all contents, all styles), with several positives (the captions that fit it). The loss is
  CLIP's cross-entropy with the positives pooled, -log sum_{t fits} softmax(s * <i, t>); having
  the same content's other-style captions among the negatives is what puts style into the
  image embedding, and so gives the style score its meaning;
- contrastive, text -> image: one fitting caption drawn per image, against the batch's images
  (CLIP's symmetric term), again with pooled positives;
- cross-entropy for style (content views excluded: their style is unknown) and for content
  (with label smoothing).

The MiniLM text encoder is frozen; its caption embeddings are computed once and cached in the
output folder. The final weights are those of the last step: the evaluation images pick nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from ..config import jsonable
from ..errors import StyleDropError
from ..files import atomic_path
from ..training.checkpoint import Checkpoint, changed_settings, load_checkpoint, save_checkpoint
from ..training.schedule import warmup_cosine
from .accuracy import evaluate
from .captions import STYLE_FREE, CaptionTable, caption_table
from .data import Augment, augment, load_scorer_data
from .model import SIZES, ScorerNet, initialize, scorer_config
from .weights import save_scorer

CHECKPOINT_NAME = "checkpoint.safetensors"
CAPTIONS_CACHE = "caption_embeddings.safetensors"
METRICS_NAME = "metrics.json"


@dataclass(frozen=True)
class ScorerTrainSettings:
    size: str = "small"  # a key of model.SIZES
    steps: int = 4500  # the bundled scorer (models/scorers/README.md); content was still rising at 1,500
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup_steps: int = 50
    label_smoothing: float = 0.1
    clip_weight: float = 1.0
    style_weight: float = 1.0
    content_weight: float = 1.0
    dropout: float = 0.2  # on the pooled features, before the heads
    augment: Augment = field(default_factory=Augment)
    seed: int = 0  # initialisation, batches, augmentation
    eval_seed: int = 0  # which (content, style) images are held out (`data.evaluation_pairs`)
    checkpoint_every: int = 50
    eval_every: int = 200  # monitoring only; never used to choose weights


def pooled_positive_loss(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """mean_b [logsumexp_t logits - logsumexp_{t positive} logits]; (B, T), (B, T) bool."""
    masked = logits.masked_fill(~positive, float("-inf"))
    return (torch.logsumexp(logits, dim=1) - torch.logsumexp(masked, dim=1)).mean()


def scorer_losses(
    model: ScorerNet,
    images: torch.Tensor,  # (B, 3, S, S) float
    style: torch.Tensor,  # (B,) style index, STYLE_FREE where unknown (content views)
    content: torch.Tensor,  # (B,)
    table: CaptionTable,
    caption_embeddings: torch.Tensor,  # (T, text_dim) frozen MiniLM embeddings
    settings: ScorerTrainSettings,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    stats = model.features(images)  # [(B, 2 C_k)] per feature map
    out = model.heads([_dropout(s, settings.dropout, generator) for s in stats])
    texts = model.embed_text(caption_embeddings)  # (T, E)
    scale = model.logit_scale.exp().clamp(max=100.0)
    logits = scale * out.embedding @ texts.T  # (B, T)
    fits = table.fits(content, style)  # (B, T)
    image_to_text = pooled_positive_loss(logits, fits)
    chosen = torch.multinomial(fits.float(), 1, generator=generator).squeeze(1)  # (B,)
    text_to_image = pooled_positive_loss(logits[:, chosen].T, fits[:, chosen].T)  # (B, B)
    known = style != STYLE_FREE
    style_loss = F.cross_entropy(out.style_logits[known], style[known]) if known.any() else (
        out.style_logits.sum() * 0.0
    )
    content_loss = F.cross_entropy(
        out.content_logits, content, label_smoothing=settings.label_smoothing
    )
    clip = 0.5 * (image_to_text + text_to_image)
    total = (
        settings.clip_weight * clip
        + settings.style_weight * style_loss
        + settings.content_weight * content_loss
    )
    return {"total": total, "clip": clip, "style": style_loss, "content": content_loss}


def _dropout(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Inverted dropout drawn from `generator` (nn.Dropout would draw from the global RNG)."""
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep / (1 - p)


def encode_captions(texts: list[str], text_encoder, cache: Path | None) -> torch.Tensor:
    """(T, text_dim) sentence embeddings of `texts`, read from / written to `cache` (safetensors)."""
    if cache is not None and cache.is_file():
        with safe_open(str(cache), framework="pt") as handle:
            if json.loads(handle.metadata()["texts"]) == texts:
                return handle.get_tensor("embeddings")
    chunks = [text_encoder.encode(texts[i : i + 256]).pooled for i in range(0, len(texts), 256)]
    embeddings = torch.cat(chunks).float()
    if cache is not None:
        with atomic_path(cache) as temp:
            save_file({"embeddings": embeddings.contiguous()}, str(temp), metadata={"texts": json.dumps(texts)})
    return embeddings


@dataclass
class _State:
    """Everything a resumed run needs to continue exactly where the last checkpoint was."""

    step: int
    order: torch.Tensor  # this epoch's permutation of the training images
    position: int  # next index into `order`
    generator: torch.Tensor  # torch.Generator state


def train_scorers(
    dataset_dir: Path | str,
    out_dir: Path | str,
    settings: ScorerTrainSettings,
    text_encoder=None,
    log: Callable[[str], None] = print,
) -> dict:
    """Train on the non-evaluation images of `dataset_dir`; write a scorer folder to `out_dir`.

    Resumes from `out_dir/checkpoint.safetensors` when it exists (same settings required). Returns the
    evaluation metrics, also written to `out_dir/metrics.json`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if text_encoder is None:
        from ..base.text.minilm import MiniLMTextEncoder

        text_encoder = MiniLMTextEncoder()
    generator = torch.Generator().manual_seed(settings.seed)
    started = time.perf_counter()

    if settings.size not in SIZES:
        raise StyleDropError(f"unknown scorer size {settings.size!r}; choose from {sorted(SIZES)}")
    data = load_scorer_data(dataset_dir, SIZES[settings.size].image_size, settings.eval_seed)
    train, held = data.subset(~data.is_eval), data.subset(data.is_eval)
    table = caption_table(data.labels)
    caption_embeddings = encode_captions(table.texts, text_encoder, out_dir / CAPTIONS_CACHE)
    config = scorer_config(
        settings.size,
        num_styles=len(data.labels.styles),
        num_contents=len(data.labels.contents),
        text_dim=caption_embeddings.shape[1],
    )
    model = ScorerNet(config)
    initialize(model, generator)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    state = _State(0, torch.randperm(len(train.style), generator=generator), 0,
                   generator.get_state())
    checkpoint = out_dir / CHECKPOINT_NAME
    if checkpoint.is_file():
        state, elapsed = _load_checkpoint(checkpoint, model, optimizer, settings)
        generator.set_state(state.generator)
        started -= elapsed
        log(f"resumed from {checkpoint} at step {state.step}")
    log(f"{len(train.style)} training images, {len(held.style)} held out; {len(table.texts)} "
        f"captions; {sum(p.numel() for p in model.parameters()):,} parameters")

    model.train()
    while state.step < settings.steps:
        if state.position + settings.batch_size > len(state.order):  # new epoch
            state.order = torch.randperm(len(train.style), generator=generator)
            state.position = 0
        rows = state.order[state.position : state.position + settings.batch_size]
        state.position += settings.batch_size
        images, keeps_style = augment(train.images[rows], settings.augment, generator)
        style = torch.where(keeps_style, train.style[rows], STYLE_FREE)
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine(state.step, settings.lr, settings.warmup_steps, settings.steps)
        losses = scorer_losses(model, images, style, train.content[rows], table,
                               caption_embeddings, settings, generator)
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        optimizer.step()
        state.step += 1
        if state.step % 10 == 0 or state.step == settings.steps:
            parts = " ".join(f"{k} {v.item():.3f}" for k, v in losses.items())
            log(f"step {state.step}/{settings.steps} {parts} "
                f"({time.perf_counter() - started:.0f} s)")
        if state.step % settings.eval_every == 0 and state.step < settings.steps:
            report = evaluate(model, held, caption_embeddings=None)
            model.train()
            log(f"step {state.step} held-out: " + _summary(report["overall"]))
        if state.step % settings.checkpoint_every == 0 or state.step == settings.steps:
            state.generator = generator.get_state()
            _save_checkpoint(checkpoint, model, optimizer, state, settings,
                             time.perf_counter() - started)

    seconds = time.perf_counter() - started
    model.eval()
    save_scorer(model, data.labels, out_dir)
    plain = caption_embeddings[_plain_caption_rows(table)]
    metrics = evaluate(model, held, caption_embeddings=plain, references=train)
    metrics["training"] = {
        "settings": jsonable(asdict(settings)), "seconds": round(seconds, 1),
        "train_images": len(train.style), "eval_images": len(held.style),
        "threads": torch.get_num_threads(), "dataset": str(dataset_dir),
    }
    (out_dir / METRICS_NAME).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    log(f"done in {seconds:.0f} s; held-out: " + _summary(metrics["overall"]))
    return metrics


def _plain_caption_rows(table: CaptionTable) -> list[int]:
    """Row of "a <caption>" for each content: its first style-free caption."""
    rows: dict[int, int] = {}
    for row, (c, s) in enumerate(zip(table.content.tolist(), table.style.tolist())):
        if s == STYLE_FREE:
            rows.setdefault(c, row)
    return [rows[c] for c in sorted(rows)]


def _summary(report: dict) -> str:
    return " ".join(f"{k} {v:.3f}" for k, v in report.items() if isinstance(v, float))


def _save_checkpoint(path, model, optimizer, state: _State, settings, elapsed: float) -> None:
    extra = {"order": state.order, "position": torch.tensor(state.position), "elapsed": torch.tensor(elapsed)}
    save_checkpoint(Checkpoint(state.step, model.state_dict(), optimizer.state_dict(), state.generator,
                               jsonable(asdict(settings)), [], extra), path)


def _load_checkpoint(path, model, optimizer, settings) -> tuple[_State, float]:
    ckpt = load_checkpoint(path)
    if changed := changed_settings(ckpt.settings, jsonable(asdict(settings))):
        raise StyleDropError(
            f"{path} was written with other settings ({', '.join(changed)}); use the same settings to resume, or "
            "delete the checkpoint to start over"
        )
    model.load_state_dict(ckpt.weights)
    optimizer.load_state_dict(ckpt.optimizer)
    state = _State(ckpt.step, ckpt.extra["order"], int(ckpt.extra["position"]), ckpt.rng)
    return state, float(ckpt.extra["elapsed"])
