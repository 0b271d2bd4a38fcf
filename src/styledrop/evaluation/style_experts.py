"""The scorer's style verdict: the CNN's style head times the second opinions a scorer folder has.

Each expert is a module mapping (N, 3, S, S) images in [0, 1] at the scorer's input size to
(N, num_styles) logits. The verdict is their product of experts (Hinton 2002): the sum of their
log-probabilities, renormalised. An expert that is sure where the others hesitate decides; one
that has no idea (a flat distribution) changes nothing. No weights are tuned: every expert
counts once, so no held-out image chose how the verdict is formed.

Optional files beside `model.safetensors`, read when present:
- `style_features.safetensors`: `StyleFeatureClassifier`, hand-made content-free features;
- `style_patches.safetensors`: `PatchStyleNet`, a CNN over 16 px patches.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .style_features import FILE_NAME as FEATURES_FILE
from .style_features import load_style_classifier
from .style_patches import FILE_NAME as PATCHES_FILE
from .style_patches import load_patch_classifier

BATCH_SIZE = 256
LOADERS = {"features": (FEATURES_FILE, load_style_classifier), "patches": (PATCHES_FILE, load_patch_classifier)}


def load_style_experts(directory: Path, num_styles: int) -> dict[str, nn.Module]:
    """The second opinions stored in the scorer folder `directory`, by name, in eval mode."""
    experts = {}
    for name, (file_name, load) in LOADERS.items():
        path = Path(directory) / file_name
        if path.is_file():
            experts[name] = load(path, num_styles).eval()
    return experts


@torch.no_grad()
def expert_logits(experts: dict[str, nn.Module], images: torch.Tensor) -> dict[str, torch.Tensor]:
    """{name: (N, num_styles) logits} for (N, 3, S, S) float images in [0, 1], in batches."""
    return {
        name: torch.cat([expert(images[i : i + BATCH_SIZE]) for i in range(0, len(images), BATCH_SIZE)])
        for name, expert in experts.items()
    }


def combine_style_logits(cnn: torch.Tensor, *others: torch.Tensor | None) -> torch.Tensor:
    """Log-probabilities of the product of the classifiers' distributions (up to a constant)."""
    total = cnn.log_softmax(1)
    for logits in others:
        if logits is not None:
            total = total + logits.log_softmax(1)
    return total
