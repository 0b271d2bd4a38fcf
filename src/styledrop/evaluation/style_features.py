"""Content-free style features: what a drawing's pixels look like, whatever it depicts.

The CNN scorer's style head confuses sets that draw the same shapes (Fluent flat vs Fluent
modern, Noto vs Twemoji; models/scorers/README.md), because its features also carry the shapes.
These features describe only how a drawing is painted, at 32 px (the bundled base's resolution):
how much of the canvas it covers, its luminance, saturation and hue distributions, how its
colours change between neighbours (flat fills, soft gradients, hard edges), how many colours it
uses, and how dark its rim and lines are. Gradients are read once more, finely, at 32 and at
64 px: the first and second differences between neighbouring paint pixels, which tell a flat
fill (both zero) from a linear gradient (small first, zero second) from shading and edges.
A small classifier over them (`StyleFeatureClassifier`) is one of the scorer's style experts
(`style_experts.py`).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..errors import StyleDropError

SIZE = 32
FINE_SIZE = 64  # the gradient histograms are read again at this size
FILE_NAME = "style_features.safetensors"  # optional, beside a scorer's model.safetensors
WHITE = 0.92  # a pixel whose channels all exceed this is paper, not paint


def _histogram(values: torch.Tensor, weights: torch.Tensor, edges: list[float]) -> torch.Tensor:
    """(N, bins) weighted histograms of (N, P) values, normalised by each row's weight."""
    bounds = torch.tensor(edges)
    index = torch.bucketize(values.contiguous(), bounds[1:-1])  # (N, P) in [0, bins)
    hist = torch.zeros(values.shape[0], len(edges) - 1).scatter_add_(1, index, weights)
    return hist / weights.sum(1, keepdim=True).clamp_min(1e-6)


def _hue_saturation(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    high, low = x.max(1).values, x.min(1).values  # (N, H, W)
    chroma = high - low
    saturation = chroma / high.clamp_min(1e-6)
    r, g, b = x.unbind(1)
    safe = chroma.clamp_min(1e-6)
    hue = torch.where(high == r, ((g - b) / safe) % 6, torch.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4))
    return hue / 6, saturation  # both in [0, 1]


def _resized(images: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 3, S, S) -> (N, 3, size, size) in [0, 1]: area-averaged down, bilinear up."""
    x = images.float()
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="area" if x.shape[-1] > size else "bilinear",
                          align_corners=None if x.shape[-1] > size else False)
    return x.clamp(0, 1)


def _paint(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, H, W) float: 1 where the pixel is paint, not white paper."""
    return (x < WHITE).any(1).float()


def gradient_histograms(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, S, S) in [0, 1] -> (N, 13): fine histograms of the first and second differences
    between neighbouring paint pixels (channel sums), both directions, over the paint's pairs."""
    paint = _paint(x)
    first, first_w, second, second_w = [], [], [], []
    for dim in (-1, -2):  # along rows, then along columns
        n = x.shape[dim]
        a, b, c = (x.narrow(dim, k, n - 2) for k in range(3))
        pa, pb, pc = (paint.narrow(dim, k, n - 2) for k in range(3))
        first.append((b - a).abs().sum(1).flatten(1))
        first_w.append((pa * pb).flatten(1))
        second.append((c - 2 * b + a).abs().sum(1).flatten(1))
        second_w.append((pa * pb * pc).flatten(1))
    return torch.cat([
        _histogram(torch.cat(first, 1), torch.cat(first_w, 1), [0, 0.004, 0.01, 0.02, 0.035, 0.06, 0.1, 3.01]),
        _histogram(torch.cat(second, 1), torch.cat(second_w, 1), [0, 0.004, 0.01, 0.03, 0.1, 0.3, 6.01]),
    ], 1)


def style_features(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, S, S) images in [0, 1] -> (N, FEATURES) content-free style features."""
    x = _resized(images, SIZE)
    n = x.shape[0]
    paint = _paint(x)  # (N, H, W)
    luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    hue, sat = _hue_saturation(x)
    flat = lambda t: t.flatten(1)  # noqa: E731
    w = flat(paint)
    coloured = flat(paint * (sat > 0.25).float())

    # Neighbour differences: 0 in flat fills, small in gradients, large at edges.
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().sum(1)  # (N, H, W-1)
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().sum(1)  # (N, H-1, W)
    pair_x = paint[..., :, 1:] * paint[..., :, :-1]
    pair_y = paint[..., 1:, :] * paint[..., :-1, :]
    diffs = torch.cat([flat(dx), flat(dy)], 1)
    pairs = torch.cat([flat(pair_x), flat(pair_y)], 1)

    # The rim: paint pixels with a paper neighbour; how dark it is tells outlined from not.
    padded = F.pad(paint[:, None], (1, 1, 1, 1), value=0.0)
    inner = -F.max_pool2d(-padded, 3, stride=1)[:, 0]  # 1 where all 8 neighbours are paint
    rim = paint - inner

    quantized = (x * 7.999).long()  # 8 levels per channel
    codes = quantized[:, 0] * 64 + quantized[:, 1] * 8 + quantized[:, 2]  # (N, H, W)
    palette = torch.zeros(n, 512).scatter_add_(1, flat(codes), w)
    shares = palette / w.sum(1, keepdim=True).clamp_min(1e-6)
    top = shares.sort(1, descending=True).values

    parts = [
        w.mean(1, keepdim=True),  # coverage
        _histogram(flat(luma), w, [0, 0.12, 0.25, 0.4, 0.55, 0.7, 0.82, 0.92, 1.01]),
        _histogram(flat(sat), w, [0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.01]),
        _histogram(flat(hue), coloured, [i / 12 for i in range(12)] + [1.01]),
        _histogram(diffs, pairs, [0, 0.02, 0.06, 0.12, 0.25, 0.5, 1.0, 1.6, 3.01]),
        _histogram(flat(luma), flat(rim), [0, 0.15, 0.3, 0.5, 0.75, 1.01]),  # rim darkness
        (shares > 0.005).float().sum(1, keepdim=True) / 64,  # colours used
        top[:, :8],  # how dominant the main colours are
        torch.log1p(-(shares * (shares + 1e-9).log()).sum(1, keepdim=True)),  # palette entropy
        (coloured.sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1e-6)),  # share of saturated paint
        (flat(luma) * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1e-6),
        ((flat(luma) - 0.5) ** 2 * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1e-6),
        gradient_histograms(x),
        gradient_histograms(_resized(images, FINE_SIZE)),
    ]
    return torch.cat(parts, 1)


FEATURES = int(style_features(torch.ones(1, 3, SIZE, SIZE)).shape[1])


class StyleFeatureClassifier(torch.nn.Module):
    """Standardised style features -> a small MLP -> style logits."""

    def __init__(self, num_styles: int, hidden: int = 64):
        super().__init__()
        self.register_buffer("mean", torch.zeros(FEATURES))
        self.register_buffer("std", torch.ones(FEATURES))
        self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, hidden), torch.nn.GELU(),
                                       torch.nn.Linear(hidden, num_styles))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) in [0, 1] -> (N, num_styles) logits."""
        return self.net((style_features(images) - self.mean) / self.std)


def fit_style_features(model: StyleFeatureClassifier, images: torch.Tensor, styles: torch.Tensor,
                       generator: torch.Generator, steps: int = 1500, lr: float = 3e-3,
                       weight_decay: float = 1e-2) -> list[float]:
    """Fit on (N, 3, S, S) images in [0, 1] with style labels; full-batch AdamW. Returns losses."""
    features = style_features(images)
    model.mean.copy_(features.mean(0))
    model.std.copy_(features.std(0).clamp_min(0.02))  # a feature constant in training must not blow up later
    z = (features - model.mean) / model.std
    for layer in model.net:
        if isinstance(layer, torch.nn.Linear):
            bound = 1 / math.sqrt(layer.in_features)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.zero_()
    optimizer = torch.optim.AdamW(model.net.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model.net(z), styles, label_smoothing=0.05)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def save_style_classifier(model: StyleFeatureClassifier, path: Path) -> None:
    tensors = {name: value.detach().float().contiguous() for name, value in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"hidden": str(model.net[0].out_features), "features": str(FEATURES)})


def load_style_classifier(path: Path, num_styles: int) -> StyleFeatureClassifier:
    """The classifier in `path`, checked against this code's features and the scorer's styles."""
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as handle:
            meta = handle.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise StyleDropError(f"cannot read {path}: {err}; restore it or delete it (the CNN then judges style alone)") from err
    if int(meta.get("features", -1)) != FEATURES or tensors["net.2.bias"].shape[0] != num_styles:
        raise StyleDropError(f"{path} was fitted for {meta.get('features')} features and "
                             f"{tensors['net.2.bias'].shape[0]} styles; this code computes {FEATURES} features "
                             f"for {num_styles} styles: refit it with `python benchmarks/scorers_train.py "
                             "--style-experts-only`")
    model = StyleFeatureClassifier(num_styles, int(meta["hidden"]))
    model.load_state_dict(tensors)
    return model.eval()
