"""A scorer folder: `model.safetensors` (fp16), `config.json`, `labels.json` (+ a model card).

`save_scorer` writes the folder a training run ends with; `load_scorer` reads it back as a float32
`ScorerNet` in eval mode. The bundled scorers live in `styledrop.bundled.SCORERS`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..bundled import SCORERS, require
from ..config import save_settings, settings_from_dict
from ..errors import StyleDropError
from .labels import (
    LABELS_NAME,
    ScorerLabels,
    load_labels,
    save_labels,
)
from .model import ScorerConfig, ScorerNet

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
DEFAULT_SCORER_DIR = SCORERS  # in the wheel, or the checkout's models/scorers (styledrop.bundled)


def save_scorer(model: ScorerNet, labels: ScorerLabels, directory: Path) -> None:
    """Write weights (fp16, BatchNorm step counters dropped), config and labels."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {
        name: value.detach().to("cpu", torch.float16).contiguous()
        for name, value in model.state_dict().items()
        if not name.endswith("num_batches_tracked")  # unused in eval; saves an int64 each
    }
    save_file(tensors, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
    save_settings(model.config, directory / CONFIG_NAME)
    save_labels(labels, directory / LABELS_NAME)


def load_scorer(directory: Path | str | None = None) -> tuple[ScorerNet, ScorerLabels]:
    """The scorer in `directory` (default: the bundled one), float32, in eval mode."""
    directory = Path(directory) if directory is not None else require(DEFAULT_SCORER_DIR)
    if not (directory / WEIGHTS_NAME).is_file():
        raise StyleDropError(
            f"no scorer in {directory} ({WEIGHTS_NAME} missing); pass a scorer folder, or train "
            "one with `python benchmarks/scorers_train.py --data DATASET --out DIR`"
        )
    config_path = directory / CONFIG_NAME
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise StyleDropError(f"{config_path} is missing; a scorer folder needs it") from err
    except json.JSONDecodeError as err:
        raise StyleDropError(f"{config_path} is not JSON ({err}); restore the file") from err
    config = settings_from_dict(ScorerConfig, raw, where=str(config_path))
    labels = load_labels(directory / LABELS_NAME)
    if (len(labels.styles), len(labels.contents)) != (config.num_styles, config.num_contents):
        raise StyleDropError(
            f"{directory}: labels.json has {len(labels.styles)} styles and "
            f"{len(labels.contents)} contents, config.json says {config.num_styles} and "
            f"{config.num_contents}; the files come from different runs, retrain the scorer"
        )
    try:
        tensors = load_file(str(directory / WEIGHTS_NAME))
    except (SafetensorError, OSError) as err:
        raise StyleDropError(f"cannot read {directory / WEIGHTS_NAME}: {err}; restore it") from err
    model = ScorerNet(config)
    state = {name: value.float() for name, value in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [name for name in missing if not name.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise StyleDropError(
            f"{directory / WEIGHTS_NAME} does not fit config.json (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); the files come from different runs"
        )
    return model.eval(), labels
