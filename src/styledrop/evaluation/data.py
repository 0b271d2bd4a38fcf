"""The emoji world as labelled tensors for the scorers, and the held-out evaluation images.

Evaluation split ("leave one style out per content"): a seeded permutation of the contents deals
each content one style round-robin, and that (content, style) image is held out; every content
keeps its other styles for training. So each style holds out 1/7 of its images (58 or 59 of
411, 14.3 %), all 411 contents are tested, and every test asks the question StyleDrop's outputs
ask: a known concept in a style the scorer never saw it drawn in. The scorers are trained on the
remaining images only; `benchmarks/scorers_eval.py` reports accuracy on the held-out ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import StyleDropError
from ..world.manifest import ManifestRecord, load_manifest
from .labels import ScorerLabels, labels_from_records


@dataclass(frozen=True)
class ScorerData:
    images: torch.Tensor  # (N, 3, S, S) uint8
    style: torch.Tensor  # (N,) style index
    content: torch.Tensor  # (N,) content index
    is_eval: torch.Tensor  # (N,) bool: held out for evaluation, never trained on
    labels: ScorerLabels
    records: list[ManifestRecord]

    def subset(self, mask: torch.Tensor) -> ScorerData:
        keep = mask.nonzero().flatten().tolist()
        return ScorerData(
            self.images[mask], self.style[mask], self.content[mask], self.is_eval[mask],
            self.labels, [self.records[i] for i in keep],
        )


def evaluation_pairs(
    content_ids: list[str], style_ids: list[str], seed: int
) -> set[tuple[str, str]]:
    """The held-out (content id, style id) pairs: one style per content, dealt round-robin."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(content_ids), generator=generator).tolist()
    return {
        (content_ids[c], style_ids[rank % len(style_ids)]) for rank, c in enumerate(order)
    }


def _read_png(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    if rgb.size != (size, size):
        raise StyleDropError(f"{path} is {rgb.size[0]}x{rgb.size[1]}, expected {size}x{size}; "
                             "rebuild the dataset")
    return np.asarray(rgb, dtype=np.uint8)  # (S, S, 3)


def load_scorer_data(dataset_dir: Path | str, image_size: int, eval_seed: int,
                     styles: Sequence[str] | None = None) -> ScorerData:
    """Every image of the dataset at `image_size` (of the given `styles`, default all), with labels
    and the evaluation flag. A scorer is evaluated on the styles it was trained on, so a dataset
    with more style sets than a bundled scorer knows still reproduces that scorer's figures."""
    records = load_manifest(dataset_dir)
    if styles is not None:
        records = [r for r in records if r.style in set(styles)]
    if not records:
        raise StyleDropError(f"{dataset_dir}/manifest.jsonl has no images; rebuild the dataset")
    missing = [r for r in records if image_size not in r.paths]
    if missing:
        sizes = sorted(missing[0].paths)
        raise StyleDropError(
            f"{dataset_dir}: {len(missing)} images have no {image_size} px file (e.g. "
            f"{missing[0].content_id} in {missing[0].style}, sizes {sizes}); rebuild the "
            f"dataset with `--sizes {image_size}`"
        )
    labels = labels_from_records(records)
    style_index = {s: i for i, s in enumerate(labels.style_ids)}
    content_index = {c.content_id: i for i, c in enumerate(labels.contents)}
    held = evaluation_pairs(
        [c.content_id for c in labels.contents], labels.style_ids, eval_seed
    )
    arrays = np.stack([_read_png(r.paths[image_size], image_size) for r in records])
    return ScorerData(
        images=torch.from_numpy(arrays).permute(0, 3, 1, 2).contiguous(),  # (N, 3, S, S)
        style=torch.tensor([style_index[r.style] for r in records]),
        content=torch.tensor([content_index[r.content_id] for r in records]),
        is_eval=torch.tensor([(r.content_id, r.style) in held for r in records]),
        labels=labels,
        records=records,
    )


@dataclass(frozen=True)
class Augment:
    """Two kinds of training view, drawn per image.

    Style views keep every pixel: an integer shift (white comes in at the border) and a mirror
    flip. Their style label stands. Content views are warped (scale, rotation, sub-pixel shift)
    and recoloured, and one in three is redrawn in a way that imitates another style family,
    so the content head learns shape across styles: a grey-scale copy, a black silhouette
    (every non-white pixel black) or an outline (black edges on white); a colour-channel
    shuffle changes hues. Their style is unknown afterwards, so they carry no style label.
    A quarter of all views are then blurred to half resolution and back.
    """

    content_view_prob: float = 0.5
    max_pixel_shift: int = 4  # style views
    max_shift: float = 0.1  # content views, of the image side
    scale: tuple[float, float] = (0.85, 1.1)
    max_rotation_deg: float = 10.0
    flip_prob: float = 0.5  # both views
    contrast: float = 0.15
    saturation: float = 0.2
    gray_prob: float = 0.1  # the four redraws of a content view, drawn exclusively
    silhouette_prob: float = 0.1
    outline_prob: float = 0.1
    channel_shuffle_prob: float = 0.15
    half_resolution_prob: float = 0.25  # both views: down to S/2 and back up, as a 32 px
    # image looks to a 64 px scorer (the bundled base model draws at 32 px)


_LUMA = torch.tensor([0.299, 0.587, 0.114])[:, None, None]  # ITU-R 601 weights, (3, 1, 1)
_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _warp(x: torch.Tensor, theta: torch.Tensor, mode: str) -> torch.Tensor:
    """Resample (B, 3, S, S) through (B, 2, 3) output->input maps; white outside the picture."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return 1 - F.grid_sample(1 - x, grid, mode=mode, align_corners=False)  # pads 1 - 0 = white


def _outline(luma: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S) luminance -> black edges on white."""
    kernels = torch.stack([_SOBEL_X, _SOBEL_X.T])[:, None]  # (2, 1, 3, 3)
    edges = F.conv2d(F.pad(luma, (1, 1, 1, 1), mode="replicate"), kernels).norm(dim=1, keepdim=True)
    return 1 - (edges * 2).clamp(0, 1)


def augment(
    images: torch.Tensor, settings: Augment, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, S, S) uint8 -> (B, 3, S, S) float in [0, 1], and (B,) bool "style view"."""
    x = images.float() / 255.0
    b, size = x.shape[0], x.shape[-1]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(b, *shape, generator=generator)

    # Every random number is drawn for the whole batch, so the draws do not depend on how the
    # batch splits into views; each view is then computed only on its own rows.
    keeps_style = torch.rand(b, generator=generator) >= settings.content_view_prob
    flip = torch.where(torch.rand(b, generator=generator) < settings.flip_prob, -1.0, 1.0)
    pixels = torch.randint(-settings.max_pixel_shift, settings.max_pixel_shift + 1, (b, 2),
                           generator=generator)
    scale = uniform(*settings.scale)
    angle = torch.deg2rad(uniform(-settings.max_rotation_deg, settings.max_rotation_deg))
    shift = 2 * settings.max_shift * uniform(-1.0, 1.0, 2)
    saturation = uniform(1 - settings.saturation, 1 + settings.saturation, 1, 1, 1)
    contrast = uniform(1 - settings.contrast, 1 + settings.contrast, 1, 1, 1)
    threshold = uniform(0.7, 0.95, 1, 1, 1)
    redraw = torch.rand(b, generator=generator)
    channels = torch.randperm(3, generator=generator)
    halved = torch.rand(b, generator=generator) < settings.half_resolution_prob
    out = torch.empty_like(x)

    # Style views: nearest-neighbour sampling at whole-pixel offsets moves pixels unchanged.
    rows = keeps_style
    identity = torch.zeros(b, 2, 3)
    identity[:, 0, 0], identity[:, 1, 1] = flip, 1.0
    identity[:, :, 2] = pixels * 2.0 / size  # normalised coordinates span 2 over S pixels
    if rows.any():
        out[rows] = _warp(x[rows], identity[rows], "nearest")

    rows = ~keeps_style
    if rows.any():
        out[rows] = _content_view(x[rows], angle[rows], scale[rows], flip[rows], shift[rows],
                                  saturation[rows], contrast[rows], threshold[rows],
                                  redraw[rows], channels, settings)
    if halved.any():
        small = F.interpolate(out[halved], scale_factor=0.5, mode="bilinear", antialias=True)
        out[halved] = F.interpolate(small, size=(size, size), mode="bicubic", align_corners=False)
    return out.clamp(0, 1), keeps_style


def _content_view(x, angle, scale, flip, shift, saturation, contrast, threshold, redraw,
                  channels, settings: Augment) -> torch.Tensor:
    """A smooth warp, then colour changes, then maybe a redraw; all arguments per row."""
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos * flip, -sin, shift[:, 0]], dim=1),
        torch.stack([sin * flip, cos, shift[:, 1]], dim=1),
    ], dim=1)  # (B, 2, 3)
    y = _warp(x, theta, "bilinear")
    gray = (y * _LUMA).sum(1, keepdim=True)
    y = gray + saturation * (y - gray)
    # Contrast about white, so that the white background stays white: every emoji has one.
    y = (1 - contrast * (1 - y)).clamp(0, 1)
    luma = (y * _LUMA).sum(1, keepdim=True)  # (B', 1, S, S)
    base = y
    redraws = [  # each computed only if some row draws it
        (settings.gray_prob, lambda: luma.expand_as(base)),
        (settings.silhouette_prob, lambda: (luma > threshold).float().expand_as(base)),
        (settings.outline_prob, lambda: _outline(luma).expand_as(base)),
        (settings.channel_shuffle_prob, lambda: base[:, channels]),
    ]
    low = 0.0
    for prob, redrawn in redraws:  # exclusive: row r takes the redraw whose interval holds it
        chosen = (redraw >= low) & (redraw < low + prob)
        if chosen.any():
            y = torch.where(chosen[:, None, None, None], redrawn(), y)
        low += prob
    return y
