"""Where pretraining starts: a fitted tokenizer to train over, a base folder's weights to continue
from, and a checkpoint (of this or the older layout) to resume.

`styledrop pretrain --init BASE` continues from BASE's transformer (position table included); `--tokenizer
DIR` trains over an already fitted tokenizer instead of fitting one. Both together move a trained
base onto another codebook (e.g. 1,024 -> 2,048 codes): only the token embedding and the output
layer depend on the codebook, and each new code starts as the base's code whose patch is nearest
to it (`retarget_vocabulary`), so training resumes from what the base knows rather than from noise.

Checkpoints written while the position table lived outside the model hold a ModuleDict
{"transformer": UVit2DModel, "position": table}; `current_layout` renames their weights and
reorders their optimizer state for `PositionalUVit2DModel`, so such a run resumes and exports.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..base import load_transformer
from ..base.patch_tokenizer import PatchKMeansTokenizer, nearest
from ..base.position import PositionalUVit2DModel
from ..base.tokenizer import ImageTokenizer, load_tokenizer_folder, same_tokenizer
from ..errors import StyleDropError

LEGACY_PREFIX = "transformer."  # the UVit2DModel's weights in an old checkpoint
LEGACY_TABLE = "position.table"  # the table in an old checkpoint (last in the optimizer's order)
TABLE = "position_embedding"  # the table in PositionalUVit2DModel (first in its parameter order)


def missing(folder: Path) -> str:
    """Where a folder that is not there was looked for: a recipe's relative paths are read from the current folder."""
    return "" if folder.exists() else f" (no folder at {folder.absolute()}; relative paths start at the current folder)"


def init_tokenizer(folder: Path) -> ImageTokenizer:
    if not (folder / "vqvae" / "config.json").is_file():
        raise StyleDropError(f"pretrain init {folder} is not a base folder with a tokenizer (no "
                             f"vqvae/config.json){missing(folder)}; give the folder of an emoji-world base, "
                             "e.g. models/emoji-base")
    return load_tokenizer_folder(folder / "vqvae")


def named_tokenizer(folder: Path) -> ImageTokenizer:
    if not (folder / "config.json").is_file():
        raise StyleDropError(f"pretrain tokenizer {folder} is not a fitted tokenizer folder (no config.json)"
                             f"{missing(folder)}; give "
                             "the vqvae folder of a pretrain work folder, e.g. runs/emoji-base-c2048/vqvae, "
                             "or a diffusers VQModel folder")
    return load_tokenizer_folder(folder)


def retarget_vocabulary(state: dict[str, torch.Tensor], source: PatchKMeansTokenizer,
                        target: PatchKMeansTokenizer) -> dict[str, torch.Tensor]:
    """Init weights for another codebook: each new code starts as the old code whose patch is nearest to it.

    Only the token embedding (codes, then [MASK]) and the output layer (one row per code) depend on the
    codebook; a code that several new ones map to is predicted for each of them until training splits it.
    """
    if source.patch != target.patch:
        raise StyleDropError(f"pretrain init has {source.patch}-pixel patches, the tokenizer {target.patch}; "
                             "train over a tokenizer with the init base's patch size")
    old = nearest(target.codebook, source.codebook)  # (K_new,) ids into the init codebook
    embed, head = "embed.embeddings.weight", "mlm_layer.conv2.weight"
    return state | {embed: torch.cat([state[embed][old], state[embed][-1:]]), head: state[head][old]}


def load_init_weights(trained: PositionalUVit2DModel, folder: Path, tokenizer_dir: Path | None = None) -> None:
    """Copy a base folder's transformer (its position table included) into `trained` (shapes must match the config).

    If `tokenizer_dir` holds another codebook than the base's, the weights are retargeted to it first."""
    weights = folder / "transformer" / "diffusion_pytorch_model.safetensors"
    if not weights.is_file():
        raise StyleDropError(f"pretrain init {folder} has no {weights.relative_to(folder)}; give a base folder "
                             "written by `styledrop pretrain`, e.g. models/emoji-base")
    state = load_transformer(folder / "transformer").state_dict()
    if tokenizer_dir is not None and (tokenizer_dir / "config.json").is_file():
        source, target = init_tokenizer(folder), load_tokenizer_folder(tokenizer_dir)
        if not same_tokenizer(source, target):
            if not (isinstance(source, PatchKMeansTokenizer) and isinstance(target, PatchKMeansTokenizer)):
                raise StyleDropError(f"pretrain init {folder} was trained over another tokenizer than "
                                     f"{tokenizer_dir}, and only a patch codebook can be moved onto another; "
                                     "train from scratch over this tokenizer (no init)")
            state = retarget_vocabulary(state, source, target)
    mine = trained.state_dict()
    wrong = [f"{k} {tuple(v.shape)} (config: {tuple(mine[k].shape) if k in mine else 'absent'})"
             for k, v in state.items() if k not in mine or mine[k].shape != v.shape]
    missing = sorted(set(mine) - set(state))
    if wrong or missing:
        raise StyleDropError(f"pretrain init {folder} does not fit the configured model: "
                             f"{'; '.join(wrong[:3] + missing[:3])}; set hidden, layers, heads, block_channels, "
                             "codes, resolution and patch to the base's values")
    trained.load_state_dict(state)  # copies, casting fp16 weights to the training dtype


def current_layout(weights: dict[str, torch.Tensor], optimizer: dict, model: PositionalUVit2DModel
                   ) -> tuple[dict[str, torch.Tensor], dict]:
    """A pretraining checkpoint's weights and optimizer state in `model`'s names and parameter order.

    A checkpoint in the current layout comes back as it is. An old one (LEGACY_TABLE among its
    weights) is renamed, and its optimizer state, which torch keys by parameter index, is re-keyed:
    the old order was UVit2DModel's parameters then the table, `model` has the table first.
    """
    if LEGACY_TABLE not in weights:
        return weights, optimizer
    renamed = {(TABLE if k == LEGACY_TABLE else k.removeprefix(LEGACY_PREFIX)): v for k, v in weights.items()}
    names = [name for name, _ in model.named_parameters()]
    old_order = [name for name in names if name != TABLE] + [TABLE]
    new_index = {old: names.index(name) for old, name in enumerate(old_order)}
    state = {new_index[int(i)]: value for i, value in optimizer["state"].items()}
    # torch pairs a saved group's indices with the optimizer's parameters in order: list them in model order.
    groups = [group | {"params": sorted(new_index[i] for i in group["params"])} for group in optimizer["param_groups"]]
    return renamed, {"state": state, "param_groups": groups}
