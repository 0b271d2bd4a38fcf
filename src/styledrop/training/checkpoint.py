"""Training checkpoints: adapter, optimizer state, step and RNG state in one safetensors file.

Written atomically (temp file + rename), so a crash leaves the previous checkpoint intact;
resuming restores everything the loop's randomness and updates depend on, so a resumed run ends
with exactly the weights of an uninterrupted one (tests/test_training.py).

One resume rule for every training here (`changed_settings`): the recipe must match the
checkpoint's; the machine settings (where it runs, how many threads, how often it checkpoints,
how often it reports) may change, and so may the step count, which is how a run is extended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import StyleDropError
from ..files import read_safetensors, write_safetensors

MACHINE_SETTINGS = frozenset({"device", "threads", "checkpoint_every", "eval_every"})


def changed_settings(saved: dict, current: dict, *, may_change: frozenset[str] = frozenset({"steps"})) -> list[str]:
    """Names of the recipe settings in which `current` differs from a checkpoint's `saved` ones."""
    free = MACHINE_SETTINGS | may_change
    return sorted(k for k in set(saved) | set(current) if k not in free and saved.get(k) != current.get(k))


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
    write_safetensors(tensors, Path(path), meta)


def load_checkpoint(path: Path) -> Checkpoint:
    fix = "delete it to start over"
    tensors, meta = read_safetensors(Path(path), f"cannot resume from it: {fix}")
    try:
        step, settings, losses = int(meta["step"]), json.loads(meta["settings"]), json.loads(meta["losses"])
        param_groups, rng = json.loads(meta["param_groups"]), tensors["rng"]
    except KeyError as err:  # e.g. an adapter file renamed NAME.ckpt.safetensors
        raise StyleDropError(f"cannot resume: {path} is not a training checkpoint (it has no {err}); {fix}") from err
    except ValueError as err:
        raise StyleDropError(f"cannot resume: {path} has damaged checkpoint metadata ({err}); {fix}") from err
    if not isinstance(settings, dict):
        raise StyleDropError(f"cannot resume: {path} has damaged checkpoint metadata (settings {settings!r}); {fix}")
    weights = {k.removeprefix("weights/"): v for k, v in tensors.items() if k.startswith("weights/")}
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer = {"state": state, "param_groups": param_groups}
    extra = {k.removeprefix("extra/"): v for k, v in tensors.items() if k.startswith("extra/")}
    return Checkpoint(step, weights, optimizer, rng, settings, losses, extra)
