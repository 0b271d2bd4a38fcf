"""What the scorer's output indices mean: its style sets and its content vocabulary.

Saved as `labels.json` beside the weights, so a scorer folder is complete on its own and a later
edit of the package's vocabulary cannot shift class indices under trained weights::

    {"styles": [{"id": "noto", "name": "Noto", "look": "rounded flat shapes ..."}, ...],
     "contents": [{"content_id": "1f412", "caption": "monkey", "synonyms": ["ape"],
                   "category": "animal"}, ...]}
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import StyleDropError
from ..world.manifest import ManifestRecord
from ..world.styles import STYLE_SETS

LABELS_NAME = "labels.json"


@dataclass(frozen=True)
class StyleLabel:
    id: str  # style set id, e.g. "openmoji-black"
    name: str  # display name used in captions, e.g. "OpenMoji black"
    look: str  # the look in words, e.g. "black line drawing on white, no fill"


@dataclass(frozen=True)
class ContentLabel:
    content_id: str  # codepoints, e.g. "1f42e"
    caption: str  # the noun prompts use, e.g. "cow"
    synonyms: tuple[str, ...]
    category: str


@dataclass(frozen=True)
class ScorerLabels:
    styles: tuple[StyleLabel, ...]
    contents: tuple[ContentLabel, ...]

    @property
    def style_ids(self) -> list[str]:
        return [style.id for style in self.styles]

    @property
    def captions(self) -> list[str]:
        return [content.caption for content in self.contents]


def _style_label(style_id: str) -> StyleLabel:
    """Name and look from the style set's descriptor, "Name: look"."""
    for style in STYLE_SETS:
        if style.id == style_id:
            name, _, look = style.descriptor.partition(":")
            return StyleLabel(id=style_id, name=name.strip(), look=look.strip() or name.strip())
    return StyleLabel(id=style_id, name=style_id, look=style_id)


def labels_from_records(records: Sequence[ManifestRecord]) -> ScorerLabels:
    """Styles in `STYLE_SETS` order (unknown ones after, by name); contents in manifest order."""
    known = [style.id for style in STYLE_SETS]
    present = {record.style for record in records}
    order = [s for s in known if s in present] + sorted(present - set(known))
    contents: dict[str, ContentLabel] = {}
    for record in records:
        if record.content_id not in contents:
            contents[record.content_id] = ContentLabel(
                record.content_id, record.caption, tuple(record.synonyms), record.category
            )
    return ScorerLabels(tuple(_style_label(s) for s in order), tuple(contents.values()))


def save_labels(labels: ScorerLabels, path: Path) -> None:
    row = {
        "styles": [asdict(style) for style in labels.styles],
        "contents": [{**asdict(c), "synonyms": list(c.synonyms)} for c in labels.contents],
    }
    Path(path).write_text(json.dumps(row, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _checked(cls: type, row: object, where: str) -> dict:
    """`row` as keyword arguments of `cls`, or StyleDropError naming the bad key and the file."""
    names = [field.name for field in fields(cls)]
    if not isinstance(row, dict):
        raise StyleDropError(f"{where}: expected an object with keys {names}, got {row!r}")
    for key in row:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise StyleDropError(f"{where}: unknown key {key!r}{hint}; fix or retrain the scorer")
    missing = [name for name in names if name not in row]
    if missing:
        raise StyleDropError(f"{where}: missing keys {missing}; fix or retrain the scorer")
    return row


def load_labels(path: Path) -> ScorerLabels:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise StyleDropError(f"{path} is missing; a scorer folder needs {LABELS_NAME}") from err
    except json.JSONDecodeError as err:
        raise StyleDropError(f"{path} is not JSON ({err}); retrain or restore the file") from err
    data = _checked(ScorerLabels, data, str(path))
    styles = tuple(
        StyleLabel(**_checked(StyleLabel, row, f"{path} styles[{i}]"))
        for i, row in enumerate(data["styles"])
    )
    contents = []
    for i, row in enumerate(data["contents"]):
        row = _checked(ContentLabel, row, f"{path} contents[{i}]")
        contents.append(ContentLabel(**{**row, "synonyms": tuple(row["synonyms"])}))
    return ScorerLabels(styles, tuple(contents))
