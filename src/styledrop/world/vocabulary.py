"""The content vocabulary of the emoji world: which concepts exist and how captions name them.

`vocabulary.json` is a fixed, hand-curated list of concrete drawable concepts (animals, plants,
food, drinks, vehicles, buildings, weather, clothing, instruments, tools, household objects). It
was drawn from the Unicode emoji of the non-person categories and leaves out, on purpose:
people and body parts, smileys, flags, keycaps, letters and symbols, skin-tone variants, the
clock faces and moon phases, and near-duplicates (``cow face`` beside ``cow``, the ``oncoming``
vehicles, colour variants such as ``green apple``). Each entry keeps its codepoints (the join key
between style sets), its CLDR short name (``name``; the Fluent SVGs are named after it), its
Unicode character name and a coarse category.

`synonyms.json` turns those names into natural captions: ``musical keyboard`` -> ``piano``,
``ewe`` -> ``sheep``. Names without an entry are their own caption.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from ..errors import StyleDropError

VARIATION_SELECTOR = "fe0f"  # U+FE0F asks for emoji presentation; sets disagree on writing it


def normalize_codepoints(text: str) -> str:
    """``"2708-FE0F"``, ``"2708_fe0f"`` -> ``"2708"``: lower-case hex joined by ``-``, no FE0F."""
    parts = text.strip().lower().replace("_", "-").split("-")
    kept = [part for part in parts if part and part != VARIATION_SELECTOR]
    for part in kept:
        if not all(ch in "0123456789abcdef" for ch in part):
            raise ValueError(f"not a codepoint sequence: {text!r}")
    return "-".join(kept)


@dataclass(frozen=True)
class Content:
    """One concept of the world, e.g. ``Content("1f3b9", "musical keyboard", "piano", ...)``."""

    content_id: str  # normalised codepoints, e.g. "1f3b9"
    name: str  # CLDR short name, e.g. "musical keyboard"
    caption: str  # the natural noun a prompt uses, e.g. "piano"
    synonyms: tuple[str, ...]  # other names that should answer to this content
    category: str  # coarse group: animal, food, vehicle, ...
    unicode_name: str  # e.g. "musical keyboard"


def _read_json(filename: str) -> object:
    text = resources.files("styledrop.world").joinpath(filename).read_text(encoding="utf-8")
    return json.loads(text)


def _unique(items: list[str], exclude: str) -> tuple[str, ...]:
    seen: list[str] = []
    for item in items:
        item = item.strip().lower()
        if item and item != exclude and item not in seen:
            seen.append(item)
    return tuple(seen)


def load_vocabulary() -> list[Content]:
    """The fixed vocabulary, in file order, with captions and synonyms applied."""
    entries = _read_json("vocabulary.json")
    synonyms = _read_json("synonyms.json")
    assert isinstance(entries, list) and isinstance(synonyms, dict)
    names = {entry["name"] for entry in entries}
    unknown = sorted(set(synonyms) - names)
    if unknown:
        raise StyleDropError(
            f"synonyms.json names {unknown} which are not in vocabulary.json; "
            "fix the spelling or remove the entries"
        )
    contents: list[Content] = []
    for entry in entries:
        extra = synonyms.get(entry["name"], {})
        caption = extra.get("caption", entry["name"]).lower()
        alternatives = [*extra.get("synonyms", []), entry["name"], entry["unicode_name"]]
        contents.append(
            Content(
                content_id=normalize_codepoints(entry["id"]),
                name=entry["name"],
                caption=caption,
                synonyms=_unique(alternatives, exclude=caption),
                category=entry["category"],
                unicode_name=entry["unicode_name"],
            )
        )
    _check_unique(contents)
    return contents


def _check_unique(contents: list[Content]) -> None:
    for field in ("content_id", "caption"):
        values = [getattr(content, field) for content in contents]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise StyleDropError(
                f"vocabulary.json/synonyms.json give the same {field} twice: {repeated}; "
                f"every content needs its own {field}"
            )
