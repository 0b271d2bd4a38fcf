"""Files at the boundary: atomic writes, and reads that fail with one line naming the file.

Each write goes to a temporary file in the destination's folder and is moved into place with
`os.replace`, which is atomic on POSIX when both paths are on one file system: a reader never
sees half a file, and a crash leaves the old one intact (and, at worst, a `.NAME.*.tmp` that
`remove_stale_temps` clears on the next run). A full disk or a read-only folder is a
`StyleDropError` naming the path, never a traceback.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .errors import StyleDropError

# errors that mean "this write cannot succeed here", whichever call in a write raised them
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


def cannot_write(path: Path, code: int | None, reason: str) -> StyleDropError:
    """The one-line error for a failed write of `path` (`code`: the errno, when known)."""
    if code in (errno.ENOSPC, errno.EDQUOT):
        return StyleDropError(f"cannot write {path}: the disk is full ({reason}); free some space and run again")
    return StyleDropError(f"cannot write {path} ({reason}); choose a folder you can write to")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise cannot_write(path, err.errno, err.strerror or str(err)) from err
    os.close(handle)
    os.chmod(temp_name, 0o666 & ~current_umask())  # mkstemp's 0o600 would hide the file from other users
    try:
        yield Path(temp_name)
        os.replace(temp_name, path)
    except OSError as err:
        if err.errno not in _WRITE_ERRORS:
            raise
        raise cannot_write(path, err.errno, err.strerror) from err
    finally:
        Path(temp_name).unlink(missing_ok=True)


def current_umask() -> int:
    """The process's file-creation mask (read by setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json_lines(path: Path, lines: Iterable[str]) -> None:
    """A JSON Lines file (one JSON object per line, as the dataset and pool manifests are), atomically."""
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the temp files that killed writes of `path` left behind; returns what it removed."""
    path = Path(path)
    stale = [Path(p) for p in glob.glob(glob.escape(str(path.parent / f".{path.name}.")) + "*.tmp")]
    for temp in stale:
        temp.unlink(missing_ok=True)
    return stale


def check_writable_folder(folder: Path) -> None:
    """Raise StyleDropError unless `folder` is (or can be made) a folder this process can write in.

    Nothing is created: the nearest existing folder is probed with an unnamed temporary file.
    """
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise StyleDropError(f"cannot write to the folder {folder}: {existing} exists and is not a folder; "
                             "choose another --out")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise StyleDropError(f"cannot write to the folder {folder}: {existing} is not writable ({err.strerror}); "
                             "choose another --out") from err


def read_json_object(path: Path, fix: str) -> dict[str, Any]:
    """A JSON file holding an object, or StyleDropError naming the file, what is wrong and `fix`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise StyleDropError(f"cannot read {path} ({err.strerror}); {fix}") from err
    except UnicodeDecodeError as err:
        raise StyleDropError(f"{path} is not a text file ({err.reason} at byte {err.start}); {fix}") from err
    except json.JSONDecodeError as err:
        raise StyleDropError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}); {fix}") from err
    if not isinstance(data, dict):
        raise StyleDropError(f"{path} holds a JSON {type(data).__name__}, not an object; {fix}")
    return data


def read_safetensors(path: Path, fix: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file, or StyleDropError naming the file, the reason and `fix`.

    A safetensors file starts with its header's length (8 bytes, little-endian) and then the JSON
    header; anything else (a JSON or text file renamed .safetensors) is named for what it is.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as file:
            head = file.read(9)
    except OSError as err:
        raise StyleDropError(f"cannot read {path} ({err.strerror}); {fix}") from err
    if len(head) < 9 or head[8:9] != b"{" or int.from_bytes(head[:8], "little") > size - 8:
        raise StyleDropError(f"{path} is not a safetensors file (it starts with {head!r}); {fix}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError) as err:
        raise StyleDropError(f"{path} is a damaged safetensors file ({err}); {fix}") from err


def write_safetensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write a safetensors file atomically; a full disk is a one-line StyleDropError."""
    with atomic_path(Path(path)) as temp:
        try:
            save_file(tensors, str(temp), metadata=metadata)
        except SafetensorError as err:  # it carries the OS error only in its text: "... (os error 28)"
            code = re.search(r"os error (\d+)", str(err))
            if code is None:
                raise
            raise cannot_write(Path(path), int(code.group(1)), str(err)) from err
