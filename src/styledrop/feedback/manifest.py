"""A candidate pool on disk, and the one way to change it.

    POOL_DIR/pool.json        what made the pool: base, adapter (path + hash), reference image,
                              sampler settings, round, prompts
    POOL_DIR/manifest.jsonl   one line per image: id, prompt, seed, file, scores, selected_by
    POOL_DIR/images/*.png     the images
    POOL_DIR/reference.png    the style reference, pinned in the picking page

`selected_by` lists the policies that picked the image ("clip", "random", "clip+style",
"human"). Every change goes through `update_manifest`, which holds an exclusive lock on
`POOL_DIR/.lock` while it reads, changes and atomically replaces the manifest, so two writers
(two browser tabs, a selection run beside the page) never lose each other's changes, and a crash
leaves the previous manifest whole.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import StyleDropError
from ..files import read_json_object, write_json_lines

POOL_FILE = "pool.json"
MANIFEST = "manifest.jsonl"
HUMAN = "human"


@dataclass
class PoolImage:
    id: str  # "p003-i05": prompt 3, image 5
    prompt: str
    seed: int
    file: str  # relative to the pool folder
    scores: dict[str, float] = field(default_factory=dict)  # "text", "style", ...
    selected_by: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def read_manifest(pool: Path) -> list[PoolImage]:
    path = Path(pool) / MANIFEST
    if not path.is_file():
        raise StyleDropError(f"{pool} is not a candidate pool: it has no {MANIFEST} (make one with `styledrop feedback pool`)")
    images = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                images.append(PoolImage(**json.loads(line)))
            except (TypeError, ValueError) as err:
                raise StyleDropError(f"{path}:{number}: not a pool image record ({err}); fix or remove the line") from err
    return images


def write_manifest(pool: Path, images: list[PoolImage]) -> None:
    write_json_lines(Path(pool) / MANIFEST, (image.to_json() for image in images))


@contextmanager
def locked(pool: Path) -> Iterator[None]:
    with open(Path(pool) / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_manifest(pool: Path, change: Callable[[list[PoolImage]], None]) -> list[PoolImage]:
    """Read, change in place and write back the manifest under the pool's lock."""
    with locked(pool):
        images = read_manifest(pool)
        change(images)
        write_manifest(pool, images)
        return images


def set_pick(pool: Path, image_id: str, picked: bool, policy: str = HUMAN) -> PoolImage:
    """Mark one image as picked (or not) by `policy`; returns the updated record."""
    found: list[PoolImage] = []

    def change(images: list[PoolImage]) -> None:
        for image in images:
            if image.id == image_id:
                if picked and policy not in image.selected_by:
                    image.selected_by.append(policy)
                if not picked and policy in image.selected_by:
                    image.selected_by.remove(policy)
                found.append(image)
        if not found:
            raise StyleDropError(f"no image with id {image_id!r} in {pool}")

    update_manifest(pool, change)
    return found[0]


def read_pool_info(pool: Path) -> dict:
    path = Path(pool) / POOL_FILE
    if not path.is_file():
        raise StyleDropError(f"{pool} is not a candidate pool: it has no {POOL_FILE}")
    return read_json_object(path, "the pool is damaged: restore the file, or draw a new pool with `styledrop feedback pool`")
