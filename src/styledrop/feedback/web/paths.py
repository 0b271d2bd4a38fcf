"""Which files the picking page may read: only images and the pool's own records, only inside the pool.

The request path arrives already percent-decoded (so `%2e%2e/` is `../` by now). We join it to the
pool folder, resolve it (which follows every symlink and `..`), and keep it only if the result is
still inside the resolved pool folder. Absolute paths, traversal and symlinks that point out all
fail that one check, whatever encoding brought them here.
"""

from __future__ import annotations

from pathlib import Path

from ..manifest import MANIFEST, POOL_FILE

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}
RECORDS = {POOL_FILE, MANIFEST}


class Refused(Exception):
    """The path names something the page must not read (outside the pool, or not an image)."""


def pool_file(pool: Path, requested: str) -> Path:
    """The file inside `pool` that `requested` names; raises `Refused` or `FileNotFoundError`."""
    if "\x00" in requested or requested.startswith(("/", "\\")):
        raise Refused(requested)
    root = Path(pool).resolve()
    path = (root / requested).resolve()
    if not path.is_relative_to(root) or path == root:
        raise Refused(requested)
    if path.suffix.lower() not in IMAGE_SUFFIXES and path.relative_to(root).as_posix() not in RECORDS:
        raise Refused(requested)
    if not path.is_file():
        raise FileNotFoundError(requested)
    return path
