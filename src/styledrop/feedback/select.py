"""Round 2, step 3: selection policies over a scored pool. Each writes its name into the
`selected_by` of the images it keeps (clearing its earlier marks first, so a re-run replaces
its own selection and never touches another policy's or a person's picks).

- ``clip``: per prompt, the image with the highest text score (the paper's CLIP feedback).
- ``random``: per prompt, one image at random (the paper's baseline), from a seeded RNG.
- ``clip+style`` (ours): per prompt, the highest text score among the images whose style score
  is at least `style_quantile` of the pool's style scores; prompts with no such image give
  none. CLIP feedback alone buys text fidelity by drifting from the style (paper Table 2: style
  0.705 -> 0.673); the style floor keeps only candidates that still look like the reference.
- ``human``: the picks made in the web page (`styledrop feedback pick`); nothing to compute.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

from ..errors import StyleDropError
from .manifest import HUMAN, PoolImage, update_manifest

POLICIES = ("clip", "random", "clip+style", HUMAN)


def by_prompt(images: list[PoolImage]) -> dict[str, list[PoolImage]]:
    groups: dict[str, list[PoolImage]] = {}
    for image in images:
        groups.setdefault(image.prompt, []).append(image)
    return groups


def choose(images: list[PoolImage], policy: str, seed: int = 0, style_quantile: float = 0.5) -> list[PoolImage]:
    if policy == "random":
        rng = random.Random(seed)
        return [rng.choice(group) for group in by_prompt(images).values()]
    needed = {"clip": ["text"], "clip+style": ["text", "style"]}.get(policy)
    if needed is None:
        raise StyleDropError(f"unknown selection policy {policy!r}; choose one of {', '.join(POLICIES)}")
    missing = [i.id for i in images if any(k not in i.scores for k in needed)]
    if missing:
        raise StyleDropError(f"policy {policy} needs {' and '.join(needed)} scores, but {len(missing)} images have none "
                             f"(e.g. {missing[0]}); run `styledrop feedback score POOL_DIR` first")
    floor = -float("inf")
    if policy == "clip+style":
        floor = float(torch.quantile(torch.tensor([i.scores["style"] for i in images]), style_quantile))
    chosen = []
    for group in by_prompt(images).values():
        eligible = [i for i in group if i.scores.get("style", floor) >= floor]
        if eligible:
            chosen.append(max(eligible, key=lambda i: i.scores["text"]))
    return chosen


def select_pool(pool: Path, policy: str, seed: int = 0, style_quantile: float = 0.5) -> list[PoolImage]:
    """Apply `policy` to the pool's manifest; returns the selected images."""
    if policy == HUMAN:
        raise StyleDropError("human picks are made in the web page: run `styledrop feedback pick POOL_DIR`")
    kept: list[PoolImage] = []

    def change(images: list[PoolImage]) -> None:
        chosen = {i.id for i in choose(images, policy, seed, style_quantile)}
        for image in images:
            if policy in image.selected_by:
                image.selected_by.remove(policy)
            if image.id in chosen:
                image.selected_by.append(policy)
                kept.append(image)

    update_manifest(pool, change)
    return kept
