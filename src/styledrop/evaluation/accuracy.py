"""Measuring a scorer on held-out images: classifier accuracies and what its two scores separate.

`evaluate` returns, overall and per style of the evaluated images:

- ``style_accuracy``: top-1 of the style verdict (with style experts: of the product of the CNN
  head and the experts, and ``style_accuracy_cnn`` / ``style_accuracy_<expert>`` of each alone);
- ``content_top1`` / ``content_top5``: of the content classifier;
- with caption embeddings: ``text_top1``, zero-shot content top-1 of the text score (the caption
  "a <noun>" with the highest cosine), and the mean text score of the right caption
  (``text_score_right``) and of the other contents' captions (``text_score_wrong``);
- with reference images: the mean style score (image-image cosine) against references of the
  same style and another content, another style and the same content, and neither; and
  ``style_score_top1``, how often the style whose references are closest on average is the
  image's own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import ScorerData
from .model import ScorerNet, ScorerOutput
from .style_experts import combine_style_logits, expert_logits


def as_unit_floats(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float in [0, 1]; float images pass through as float32."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


@torch.no_grad()
def predict(model: ScorerNet, images: torch.Tensor, batch_size: int = 256) -> ScorerOutput:
    """Eval-mode outputs for (N, 3, S, S) uint8 or float [0, 1] images, mirror-averaged.

    Each image is read as drawn and mirrored left to right, and the two readings are averaged:
    embeddings summed and renormalised, logits as the mean of the log-probabilities (the
    normalised geometric mean of the two distributions). A cow facing left is the same cow in
    the same style; training sees both (flip augmentation), and averaging makes the verdict
    exactly mirror-invariant (measured on the held-out images: models/scorers/README.md).
    """
    model.eval()
    parts = []
    for start in range(0, len(images), batch_size):
        chunk = as_unit_floats(images[start : start + batch_size])
        seen, mirrored = model(chunk), model(chunk.flip(-1))
        parts.append(ScorerOutput(
            embedding=F.normalize(seen.embedding + mirrored.embedding, dim=-1),
            style_logits=(seen.style_logits.log_softmax(1) + mirrored.style_logits.log_softmax(1)) / 2,
            content_logits=(seen.content_logits.log_softmax(1) + mirrored.content_logits.log_softmax(1)) / 2,
        ))
    return ScorerOutput(
        embedding=torch.cat([p.embedding for p in parts]),
        style_logits=torch.cat([p.style_logits for p in parts]),
        content_logits=torch.cat([p.content_logits for p in parts]),
    )


def _rates(hits: dict[str, torch.Tensor], rows: torch.Tensor) -> dict:
    out: dict = {"n": int(rows.sum())}
    for name, hit in hits.items():
        out[name] = float(hit[rows].float().mean()) if rows.any() else float("nan")
    return out


@torch.no_grad()
def evaluate(
    model: ScorerNet,
    data: ScorerData,
    caption_embeddings: torch.Tensor | None = None,  # (num_contents, text_dim): "a <noun>"
    references: ScorerData | None = None,
    style_experts: dict[str, torch.nn.Module] | None = None,
) -> dict:
    out = predict(model, data.images)
    top5 = out.content_logits.topk(min(5, out.content_logits.shape[1]), dim=1).indices  # (N, 5)
    hits = {}
    opinions = expert_logits(style_experts, as_unit_floats(data.images)) if style_experts else {}
    if opinions:  # the scorer's style verdict is then the product of all (style_experts.py)
        hits["style_accuracy_cnn"] = out.style_logits.argmax(1) == data.style
        hits |= {f"style_accuracy_{name}": logits.argmax(1) == data.style for name, logits in opinions.items()}
    style_logits = combine_style_logits(out.style_logits, *opinions.values())
    hits |= {
        "style_accuracy": style_logits.argmax(1) == data.style,
        "content_top1": top5[:, 0] == data.content,
        "content_top5": (top5 == data.content[:, None]).any(1),
    }
    if caption_embeddings is not None:
        texts = model.embed_text(caption_embeddings)  # (C, E)
        scores = out.embedding @ texts.T  # (N, C): text score of every plain caption
        hits["text_top1"] = scores.argmax(1) == data.content
        right = scores.gather(1, data.content[:, None]).squeeze(1)  # (N,)
        hits["text_score_right"] = right
        hits["text_score_wrong"] = (scores.sum(1) - right) / (scores.shape[1] - 1)
    if references is not None:
        hits.update(_style_score_stats(model, out.embedding, data, references))

    report = {"overall": _rates(hits, torch.ones_like(data.style, dtype=torch.bool))}
    report["per_style"] = {
        style: _rates(hits, data.style == s) for s, style in enumerate(data.labels.style_ids)
    }
    return report


def _style_score_stats(
    model: ScorerNet, embedding: torch.Tensor, data: ScorerData, references: ScorerData
) -> dict[str, torch.Tensor]:
    """Per evaluated image: mean style score to reference groups, and nearest-style hit."""
    ref = predict(model, references.images).embedding  # (R, E)
    sims = embedding @ ref.T  # (N, R): the style score of every (image, reference) pair
    same_style = data.style[:, None] == references.style[None, :]
    same_content = data.content[:, None] == references.content[None, :]

    def mean_over(mask: torch.Tensor) -> torch.Tensor:
        return (sims * mask).sum(1) / mask.sum(1).clamp(min=1)

    num_styles = len(data.labels.styles)
    by_style = torch.stack(
        [mean_over((references.style == s)[None, :].expand_as(sims)) for s in range(num_styles)],
        dim=1,
    )  # (N, num_styles)
    return {
        "style_score_same_style": mean_over(same_style & ~same_content),
        "style_score_same_content": mean_over(~same_style & same_content),
        "style_score_neither": mean_over(~same_style & ~same_content),
        "style_score_top1": by_style.argmax(1) == data.style,
    }
