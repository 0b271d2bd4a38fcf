"""Which torch device a command runs on: `--device auto|cpu|cuda|cuda:N`, checked before any work."""

from __future__ import annotations

import torch

from .errors import StyleDropError


def pick_device(name: str) -> torch.device:
    """auto: CUDA where it is available, else the CPU; any other name must be a device this machine has."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise StyleDropError(f"device {name!r} is not a device torch knows; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise StyleDropError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device
