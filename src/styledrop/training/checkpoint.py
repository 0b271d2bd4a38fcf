"""Training checkpoints: adapter, optimizer state, step and RNG state in one safetensors file.

Written atomically (temp file + rename), so a crash leaves the previous checkpoint intact;
resuming restores everything the loop's randomness and updates depend on, so a resumed run ends
with exactly the weights of an uninterrupted one (tests/test_training.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..errors import StyleDropError
from ..files import atomic_path


def checkpoint_path(out: Path) -> Path:
    """Where the checkpoint for adapter file `out` lives: beside it, `NAME.ckpt.safetensors`."""
    out = Path(out)
    return out.with_name(out.name.removesuffix(".safetensors") + ".ckpt.safetensors")


@dataclass
class Checkpoint:
    step: int
    weights: dict[str, torch.Tensor]  # the trained tensors (adapter or whole model)
    optimizer: dict  # torch optimizer state_dict
    rng: torch.Tensor  # torch.Generator.get_state()
    settings: dict
    losses: list[float]
    extra: dict[str, torch.Tensor] = field(default_factory=dict)  # loop state of the caller (data order, ...)


def save_checkpoint(ckpt: Checkpoint, path: Path) -> None:
    tensors = {f"weights/{k}": v.detach().cpu().contiguous() for k, v in ckpt.weights.items()}
    for index, state in ckpt.optimizer["state"].items():
        for key, value in state.items():
            tensors[f"optim/{index}/{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors |= {f"extra/{k}": torch.as_tensor(v).cpu().contiguous() for k, v in ckpt.extra.items()}
    tensors["rng"] = ckpt.rng
    meta = {
        "step": str(ckpt.step), "settings": json.dumps(ckpt.settings), "losses": json.dumps(ckpt.losses),
        "param_groups": json.dumps(ckpt.optimizer["param_groups"]),
    }
    with atomic_path(Path(path)) as temp:
        save_file(tensors, str(temp), metadata=meta)


def load_checkpoint(path: Path) -> Checkpoint:
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata()
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise StyleDropError(f"cannot resume: {path} is not a readable checkpoint ({err}); delete it to start over") from err
    weights = {k.removeprefix("weights/"): v for k, v in tensors.items() if k.startswith("weights/")}
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer = {"state": state, "param_groups": json.loads(meta["param_groups"])}
    extra = {k.removeprefix("extra/"): v for k, v in tensors.items() if k.startswith("extra/")}
    return Checkpoint(int(meta["step"]), weights, optimizer, tensors["rng"], json.loads(meta["settings"]),
                      json.loads(meta["losses"]), extra)
