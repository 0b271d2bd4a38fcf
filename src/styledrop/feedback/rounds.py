"""Round 2 (and any later round): train a fresh adapter on the selected images.

The selection is read from the manifest (`selected_by` holds the policy), the captions are the
prompts that made the images, and the original reference joins the set with its own caption
(paper section 3.3). The paper's round 2 uses a larger adapter (rank 32, not shared). The new
adapter's metadata records its lineage: round, parent adapter hash, policy and counts.

`run_round` is the whole round in one call (pool -> score -> select -> train), as
`styledrop feedback run` and the benchmarks chain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..base import BaseModel
from ..config import setting
from ..errors import StyleDropError
from ..images import image_to_tensor, load_image, to_square
from ..pipeline import SampleConfig
from ..training.loop import TrainConfig, TrainResult, train_adapter
from .manifest import POOL_FILE, read_manifest, read_pool_info


@dataclass(frozen=True)
class RoundConfig(TrainConfig):
    """Training settings of round 2 and later: the paper's larger, unshared adapter."""

    rank: int = setting(32, at_least=1)  # a new default drops the bounds: repeat them
    shared: bool = False


def train_round(base: BaseModel, pool: Path, policy: str, out: Path, config: TrainConfig = RoundConfig(),
                include_reference: bool = True, resume: bool = False, show_progress: bool = True) -> TrainResult:
    info = read_pool_info(pool)
    chosen = [image for image in read_manifest(pool) if policy in image.selected_by]
    if not chosen:
        raise StyleDropError(f"no image of {pool} is selected by '{policy}': run `styledrop feedback select "
                             f"{pool} --policy {policy}` (or pick in the page for 'human') first")
    if base.transformer_hash() != info["base"]["hash"]:
        raise StyleDropError(f"the pool {pool} was drawn with base {info['base']['id']!r}, not {base.name!r}; "
                             f"pass --base {info['base']['id']!r}")

    def pixels_of(path: Path) -> torch.Tensor:  # (3, H, W)
        return image_to_tensor(to_square(load_image(path), base.resolution))

    reference = pixels_of(Path(pool) / info["reference"])  # round 1's, recorded in the new adapter too
    images = [pixels_of(Path(pool) / image.file) for image in chosen]
    captions = [image.prompt for image in chosen]
    if include_reference:
        images.append(reference)
        captions.append(info["captions"][0])
    pixels = torch.stack(images)
    lineage = {
        "round": int(info["round"]) + 1, "parent_hash": info["adapter"]["hash"], "policy": policy,
        "selected": len(chosen), "pool_images": len(read_manifest(pool)), "prompts": len(info["prompts"]),
        "reference_included": include_reference,
    }
    return train_adapter(base, pixels, captions, config, out, style_descriptor=info["style_descriptor"],
                         resume=resume, lineage=lineage, reference=reference, show_progress=show_progress)


def run_round(base: BaseModel, adapter: Path, pool: Path, prompts: list[str], images_per_prompt: int,
              sampler: SampleConfig, scorer, policy: str, out: Path, config: TrainConfig = RoundConfig(), *,
              reference: Path | None = None, seed: int = 0, style_quantile: float = 0.5, resume: bool = False,
              show_progress: bool = True) -> TrainResult:
    """One feedback round: draw a pool with the `adapter` (unless `pool` already holds one drawn by it:
    then several policies can share it), score it with `scorer`, select by `policy`, train `out`.

    `policy` is an automatic one (clip, random, clip+style); human picks are made in the page.
    """
    from ..adapters.io import load_adapter_file
    from .pool import make_pool
    from .score import score_pool
    from .select import select_pool

    if (Path(pool) / POOL_FILE).exists():
        drawn_by = read_pool_info(pool)["adapter"]["hash"]
        if drawn_by != load_adapter_file(adapter).content_hash():
            raise StyleDropError(f"{pool} holds a pool drawn by another adapter than {adapter}; "
                                 "choose another pool folder or delete it")
    else:
        make_pool(base, adapter, reference, prompts, images_per_prompt, sampler, pool, show_progress=show_progress)
        score_pool(pool, scorer)
    select_pool(pool, policy, seed, style_quantile)
    return train_round(base, pool, policy, out, config, resume=resume, show_progress=show_progress)
