"""The dataset manifest: one JSON line per (content, style) image, and its typed reader.

`DIR/manifest.jsonl` lines look like::

    {"content_id": "1f3b9", "name": "musical keyboard", "caption": "piano",
     "synonyms": ["keyboard", "musical keyboard"], "category": "instrument",
     "style": "noto", "split": "pretrain", "paths": {"32": "images/32/noto/1f3b9.png", ...},
     "source_file": "package/img/google/64/1f3b9.png",
     "package": "emoji-datasource-google@16.0.0", "license": "Apache-2.0"}

Paths are relative to the dataset folder; `load_manifest` returns them absolute.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import StyleDropError
from ..files import write_json_lines
from .splits import SPLITS

MANIFEST_NAME = "manifest.jsonl"


@dataclass(frozen=True)
class ManifestRecord:
    """One image of the emoji world: a content drawn in a style, at one or more sizes."""

    content_id: str  # normalised codepoints, the join key across styles
    name: str  # CLDR short name
    caption: str  # natural noun for prompts, e.g. "piano"
    synonyms: tuple[str, ...]
    category: str
    style: str  # style set id, e.g. "fluent-3d"
    split: str  # "pretrain" | "heldout_pair" | "heldout_style"
    paths: dict[int, Path]  # size in pixels -> PNG (relative on disk, absolute when loaded)
    source_file: str  # member of the npm tarball it was drawn from
    package: str  # "name@version"
    license: str  # SPDX id of the artwork

    def to_json(self) -> str:
        row = asdict(self)
        row["synonyms"] = list(self.synonyms)
        row["paths"] = {str(size): path.as_posix() for size, path in sorted(self.paths.items())}
        return json.dumps(row, ensure_ascii=False)


FIELDS = tuple(field.name for field in fields(ManifestRecord))


def write_manifest(out_dir: Path, records: Iterable[ManifestRecord]) -> Path:
    path = out_dir / MANIFEST_NAME
    write_json_lines(path, (record.to_json() for record in records))
    return path


def _parse(row: dict, where: str, root: Path) -> ManifestRecord:
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, FIELDS, n=1)
            hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
        hint = ", ".join(hints)
        raise StyleDropError(f"{where}: unknown keys {hint}; rebuild the dataset")
    missing = sorted(set(FIELDS) - set(row))
    if missing:
        raise StyleDropError(f"{where}: missing keys {missing}; rebuild the dataset")
    if row["split"] not in SPLITS:
        raise StyleDropError(f"{where}: split {row['split']!r} is not one of {SPLITS}")
    return ManifestRecord(
        **{
            **row,
            "synonyms": tuple(row["synonyms"]),
            "paths": {int(size): root / rel for size, rel in row["paths"].items()},
        }
    )


def load_manifest(dataset_dir: Path | str) -> list[ManifestRecord]:
    """All records of `dataset_dir/manifest.jsonl`, with absolute image paths."""
    root = Path(dataset_dir)
    path = root / MANIFEST_NAME
    if not path.exists():
        raise StyleDropError(
            f"{path} does not exist; build the dataset with `styledrop data emoji --out {root}`"
        )
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                where = f"{path}:{number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    message = f"{where}: not JSON ({error}); rebuild the dataset"
                    raise StyleDropError(message) from error
                records.append(_parse(row, where, root))
    return records


def select(
    records: Sequence[ManifestRecord],
    *,
    splits: Sequence[str] | None = None,
    styles: Sequence[str] | None = None,
) -> list[ManifestRecord]:
    """Records whose split and style are among those given (None: any)."""
    for split in splits or ():
        if split not in SPLITS:
            raise StyleDropError(f"unknown split {split!r}; choose from {SPLITS}")
    return [
        record
        for record in records
        if (splits is None or record.split in splits) and (styles is None or record.style in styles)
    ]
