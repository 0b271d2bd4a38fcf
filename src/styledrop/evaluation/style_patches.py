"""A texture classifier for style: which set drew these small patches of a drawing?

The CNN scorer's style head reads whole images, so it can also learn shapes: "this owl is
Fluent modern" because it saw the Fluent flat owl (models/scorers/README.md). A patch of 16 x 16
pixels of a 64 px emoji holds a stretch of fill, an edge, a gradient or an outline, and rarely
enough of the drawing to tell what it shows. A small CNN trained on random patches therefore
learns how a set paints (the texture statistics that style transfer reads from early layers,
Gatys et al. 2016), and its verdict on a whole image is the mean of its log-probabilities over a
grid of patches that hold paint.

    images (N, 3, 64, 64) in [0, 1]
      -> patches on a grid (stride 8), kept where at least `min_paint` of the pixels are paint
      -> conv stack (no position: it cannot know where in the drawing a patch sits)
      -> channel mean and std -> linear -> style logits per patch
      -> mean log-probability over an image's kept patches   (N, num_styles)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ..config import settings_from_dict
from ..errors import StyleDropError
from .model import initialize_layers
from .style_features import WHITE  # paper, not paint

FILE_NAME = "style_patches.safetensors"  # optional, beside a scorer's model.safetensors


@dataclass(frozen=True)
class PatchStyleConfig:
    """Shapes of a `PatchStyleNet`; saved in the weights file's metadata."""

    num_styles: int = 7
    image_size: int = 64  # the scorer's input side; images arrive at this size
    patch: int = 16
    stride: int = 8  # of the evaluation grid
    min_paint: float = 0.3  # share of paint pixels a patch needs to be read
    width: int = 32


def _conv(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def paint_share(patches: torch.Tensor) -> torch.Tensor:
    """(..., 3, p, p) in [0, 1] -> (...): the share of pixels that are not white paper."""
    return (patches < WHITE).any(-3).float().mean((-2, -1))


def grid_patches(images: torch.Tensor, patch: int, stride: int) -> torch.Tensor:
    """(N, 3, S, S) -> (N, K, 3, patch, patch): every patch of a grid with the given stride."""
    n, c = images.shape[:2]
    cols = F.unfold(images, kernel_size=patch, stride=stride)  # (N, 3 p p, K)
    return cols.transpose(1, 2).reshape(n, -1, c, patch, patch)


class PatchStyleNet(nn.Module):
    def __init__(self, config: PatchStyleConfig):
        super().__init__()
        self.config = config
        w = config.width
        # Two stride-2 stages: a 16 px patch ends as a 4 x 4 map; no pooling of positions
        # beyond the final mean and std, which read the patch as a texture.
        self.trunk = nn.Sequential(_conv(3, w, 1), _conv(w, w, 1), _conv(w, 2 * w, 2),
                                   _conv(2 * w, 2 * w, 1), _conv(2 * w, 4 * w, 2))
        self.head = nn.Linear(8 * w, config.num_styles)

    def patch_logits(self, patches: torch.Tensor) -> torch.Tensor:
        """(P, 3, p, p) in [0, 1] -> (P, num_styles) logits, one verdict per patch."""
        h = self.trunk((patches - 0.5) / 0.5)
        return self.head(torch.cat([h.mean((2, 3)), h.std((2, 3))], 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) in [0, 1], S = config.image_size -> (N, num_styles) log-probabilities:
        the mean over each image's patches that hold paint (its most painted one on a blank page)."""
        c = self.config
        if images.shape[-1] != c.image_size or images.shape[-2] != c.image_size:
            raise ValueError(f"the patch classifier reads {c.image_size} px images, got {tuple(images.shape[-2:])}")
        patches = grid_patches(images.float(), c.patch, c.stride)  # (N, K, 3, p, p)
        n, k = patches.shape[:2]
        paint = paint_share(patches)  # (N, K)
        keep = (paint >= c.min_paint) | (paint == paint.max(1, keepdim=True).values)  # (N, K)
        log_probs = self.patch_logits(patches.flatten(0, 1)).log_softmax(1).view(n, k, -1)
        weights = keep.float()[..., None]  # (N, K, 1)
        return (log_probs * weights).sum(1) / weights.sum(1)


def random_patches(images: torch.Tensor, count: int, config: PatchStyleConfig,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `count` random patches that hold paint: (P, 3, p, p) and the (P,) image each came from.

    Draws three candidates per wanted patch and keeps the painted ones (most emoji leave about
    half the canvas white), so a batch is slightly smaller when many candidates are blank.
    """
    p = config.patch
    candidates = 3 * count
    rows = torch.randint(0, len(images), (candidates,), generator=generator)
    corner = torch.randint(0, images.shape[-1] - p + 1, (candidates, 2), generator=generator)
    offsets = torch.arange(p)
    ys = (corner[:, 0, None] + offsets)[:, :, None]  # (C, p, 1)
    xs = (corner[:, 1, None] + offsets)[:, None, :]  # (C, 1, p)
    patches = images[rows[:, None, None], :, ys, xs].permute(0, 3, 1, 2)  # (C, 3, p, p)
    painted = (paint_share(patches) >= config.min_paint).nonzero().flatten()[:count]
    if len(painted) == 0:  # blank images only: learn from whatever there is
        painted = torch.arange(count)
    return patches[painted], rows[painted]


def fit_patch_style(model: PatchStyleNet, images: torch.Tensor, styles: torch.Tensor,
                    generator: torch.Generator, steps: int, batch_size: int = 256,
                    lr: float = 2e-3, weight_decay: float = 0.05,
                    log: Callable[[str], None] | None = None) -> list[float]:
    """Train on (N, 3, S, S) float images in [0, 1] with (N,) style labels; returns the losses.

    AdamW with cosine decay; each step draws fresh painted patches, mirrored at random.
    """
    initialize_layers(model, generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    losses = []
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        patches, rows = random_patches(images, batch_size, model.config, generator)
        flip = torch.rand(len(patches), generator=generator) < 0.5
        patches = torch.where(flip[:, None, None, None], patches.flip(-1), patches)
        loss = F.cross_entropy(model.patch_logits(patches), styles[rows], label_smoothing=0.05)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if log is not None and ((step + 1) % 100 == 0 or step + 1 == steps):
            log(f"patch style classifier: step {step + 1}/{steps} loss {loss.item():.3f}")
    return losses


def save_patch_classifier(model: PatchStyleNet, path) -> None:
    """fp16 weights (BatchNorm step counters dropped), the config in the metadata."""
    tensors = {name: value.detach().to(torch.float16).contiguous()
               for name, value in model.state_dict().items() if not name.endswith("num_batches_tracked")}
    save_file(tensors, str(path), metadata={"config": json.dumps(asdict(model.config))})


def load_patch_classifier(path, num_styles: int) -> PatchStyleNet:
    """The classifier in `path`, in eval mode, checked against the scorer's style count."""
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as handle:
            meta = handle.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise StyleDropError(f"cannot read {path}: {err}; restore it or delete it (the other style "
                             "classifiers then judge alone)") from err
    try:
        values = json.loads(meta["config"])
    except (KeyError, json.JSONDecodeError) as err:
        raise StyleDropError(f"{path} carries no readable config in its metadata ({err!r}); refit it") from err
    config = settings_from_dict(PatchStyleConfig, values, where=str(path))
    if config.num_styles != num_styles:
        raise StyleDropError(f"{path} was fitted for {config.num_styles} styles, the scorer has {num_styles}: "
                             "refit it with `python benchmarks/scorers_train.py --style-experts-only`")
    model = PatchStyleNet(config)
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    missing = [name for name in missing if not name.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise StyleDropError(f"{path} does not fit its own metadata (missing {missing[:3]}, unexpected "
                             f"{unexpected[:3]}); refit it")
    return model.eval()
