"""The scorer network: one small ResNet trunk with three heads, plus a text projection.

It plays CLIP's role in the paper's evaluation (Table 2). One trunk serves all three jobs because
the CPU budget buys one training run, not three, and because the jobs help each other: the
contrastive captions name both the content and the style of each image, so the trunk has to keep
both, and each classifier is then a linear read-out of that shared feature.

    images (B, 3, 64, 64) in [0, 1]
      -> stem conv, stride 2 (32 x 32) -> residual stages, each halving the grid (16, 8, 4, 2)
      -> channel mean and std of each feature map (stem and stages)
      -> content_head (last map)     (B, num_contents)  logits: which concept it shows
      -> style_head   (early maps)   (B, num_styles)    logits: which set drew it
      -> embed_head   (every map)    (B, E)  unit-length image embedding (text and style score)
    MiniLM sentence embedding (B, 384) -> text_projection -> (B, E), L2-normalised

The network knows nothing of losses, captions or labels (`training.py`, `labels.py` do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import StyleDropError


@dataclass(frozen=True)
class ScorerConfig:
    """Shapes of a `ScorerNet`; saved as `config.json` beside the weights."""

    image_size: int = 64  # input side in pixels; other sizes are resized by `Scorers`
    stem_stride: int = 2  # 2: the stem reads 64 px detail and hands on a 32 x 32 grid
    stem_width: int = 16
    widths: tuple[int, ...] = (32, 64, 128, 256)  # one stage per width, each halves the grid
    blocks: tuple[int, ...] = (1, 1, 1, 1)  # residual blocks per stage
    style_stages: int = 3  # the style head reads the stem and the first style_stages - 1 stages
    embed_dim: int = 128
    text_dim: int = 384  # MiniLM sentence embedding
    num_styles: int = 7
    num_contents: int = 411


# Named sizes (DiT-style registry): "small" is the bundled scorer, "tiny" is for tests.
SIZES: dict[str, ScorerConfig] = {
    "tiny": ScorerConfig(
        image_size=16, stem_stride=1, stem_width=4, widths=(8, 8), blocks=(1, 1), style_stages=2,
        embed_dim=8, text_dim=16,
    ),
    "small": ScorerConfig(),
}


def scorer_config(size: str, *, num_styles: int, num_contents: int, text_dim: int) -> ScorerConfig:
    """The named size with the label counts and text width of a dataset filled in."""
    if size not in SIZES:
        raise StyleDropError(f"unknown scorer size {size!r}; choose from {sorted(SIZES)}")
    return replace(SIZES[size], num_styles=num_styles, num_contents=num_contents, text_dim=text_dim)


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a (projected) skip; the first conv may stride 2."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.norm1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(c_out)
        self.skip = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(h)) + self.skip(x))


@dataclass
class ScorerOutput:
    embedding: torch.Tensor  # (B, E), unit length
    style_logits: torch.Tensor  # (B, num_styles)
    content_logits: torch.Tensor  # (B, num_contents)


def _mean_std(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 2C): each channel's mean and spread over the grid."""
    return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)


class ScorerNet(nn.Module):
    def __init__(self, config: ScorerConfig):
        super().__init__()
        if len(config.widths) != len(config.blocks):
            raise ValueError(f"widths {config.widths} and blocks {config.blocks} differ in length")
        if not 1 <= config.style_stages <= len(config.widths) + 1:
            maps = len(config.widths) + 1
            raise ValueError(f"style_stages {config.style_stages} is not in 1..{maps}")
        self.config = config
        self.stem = nn.Sequential(
            nn.Conv2d(3, config.stem_width, 3, config.stem_stride, 1, bias=False),
            nn.BatchNorm2d(config.stem_width),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        c_in = config.stem_width
        for width, count in zip(config.widths, config.blocks):
            blocks = [ResidualBlock(c_in, width, stride=2)]
            blocks += [ResidualBlock(width, width, stride=1) for _ in range(count - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = width
        self.stages = nn.ModuleList(stages)
        channels = [config.stem_width, *config.widths]  # of each feature map
        self.content_head = nn.Linear(2 * channels[-1], config.num_contents)
        self.style_head = nn.Linear(2 * sum(channels[: config.style_stages]), config.num_styles)
        self.embed_head = nn.Linear(2 * sum(channels), config.embed_dim)
        self.text_projection = nn.Linear(config.text_dim, config.embed_dim)
        # CLIP's learned temperature, stored as log(1 / 0.07) (Radford et al. 2021, section 2.5).
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, S, S) in [0, 1] -> [(B, 2 C_k)]: channel mean and std of each feature map.

        Content is a shape: the content head reads the deepest map. Style is closer to texture
        (fills, gradients, outlines): the style head reads only the early maps, as style
        transfer reads Gram statistics of early layers (Gatys et al. 2016); they describe how
        the picture is drawn rather than which drawing it is, so the head cannot learn "this
        drawing is Fluent modern" from the Fluent flat twin of a held-out image. The embedding
        reads them all, since text and style scores need both.
        """
        x = self.stem((images - 0.5) / 0.5)  # [0, 1] -> [-1, 1]; (B, stem, S/2, S/2)
        stats = [_mean_std(x)]
        for stage in self.stages:
            x = stage(x)  # halves the grid
            stats.append(_mean_std(x))
        return stats

    def forward(self, images: torch.Tensor) -> ScorerOutput:
        return self.heads(self.features(images))

    def heads(self, stats: list[torch.Tensor]) -> ScorerOutput:
        """The three heads on `features`' output (training passes dropped-out features)."""
        return ScorerOutput(
            embedding=F.normalize(self.embed_head(torch.cat(stats, dim=1)), dim=-1),
            style_logits=self.style_head(torch.cat(stats[: self.config.style_stages], dim=1)),
            content_logits=self.content_head(stats[-1]),
        )

    def embed_text(self, sentence_embeddings: torch.Tensor) -> torch.Tensor:
        """(B, text_dim) frozen MiniLM embeddings -> (B, E) unit-length text embeddings."""
        return F.normalize(self.text_projection(sentence_embeddings), dim=-1)


@torch.no_grad()
def initialize_layers(model: nn.Module, generator: torch.Generator) -> None:
    """Re-draw every conv, linear and BatchNorm weight of `model` from `generator`: He init for
    convs (as torchvision's ResNet), N(0, 0.02) for linear layers, identity BatchNorm."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(
                module.weight, mode="fan_out", nonlinearity="relu", generator=generator
            )
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02, generator=generator)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


@torch.no_grad()
def initialize(model: ScorerNet, generator: torch.Generator) -> None:
    """Re-draw every weight of the scorer from `generator` (`initialize_layers`, then below)."""
    initialize_layers(model, generator)
    # Zero-init the last BN of each residual branch: blocks start as the identity
    # (Goyal et al. 2017, section 5.1), which steadies the first steps.
    for module in model.modules():
        if isinstance(module, ResidualBlock):
            nn.init.zeros_(module.norm2.weight)
    model.logit_scale.fill_(math.log(1 / 0.07))
