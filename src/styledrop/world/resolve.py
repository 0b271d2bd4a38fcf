"""Find each content's source file inside a style set's tarball.

Sets named by codepoints are joined on the normalised codepoints (lower-case, FE0F dropped:
``2708-fe0f.png`` and ``2708.svg`` are both airplane). The Fluent SVGs are named after the CLDR
short name, so they are joined on its slug (``cow face`` -> ``cow-face``), with a short alias
list for the few files whose names differ from CLDR. Iconify sets name icons by the slug of the
CLDR or the Unicode name, hyphenated (``fox-face``) or squashed (``foxface``), and are joined on
all four.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

from .iconify import icon_name, is_icon_member
from .styles import Naming, StyleSet
from .vocabulary import Content, normalize_codepoints

# Fluent file stems that are not the slug of the CLDR name, by content id.
FLUENT_ALIASES: dict[str, str] = {
    "1f426-200d-1f525": "phoenix-bird",
    "1f426-200d-2b1b": "blackbird",
    "1f959": "stuffedbread",
}


def slugify(name: str) -> str:
    """The Fluent file stem: ``piñata`` -> ``pinata``, ``man's shoe`` -> ``mans-shoe``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def drawn_ids(emoji_json: bytes, has_img_key: str) -> set[str]:
    """Content ids that emoji-datasource's `emoji.json` says this set drew itself (no fallback)."""
    drawn: set[str] = set()
    for entry in json.loads(emoji_json):
        if entry.get(has_img_key):
            drawn.add(normalize_codepoints(entry["unified"]))
    return drawn


def index_members(style: StyleSet, members: Iterable[str]) -> dict[str, str]:
    """Map a join key (content id or slug) to the member path, for the style's folder."""
    index: dict[str, str] = {}
    for member in members:
        if style.naming is Naming.ICONIFY:
            if is_icon_member(member):
                index.setdefault(icon_name(member), member)
            continue
        if not member.startswith(style.folder) or not member.endswith(style.extension):
            continue
        stem = PurePosixPath(member).name[: -len(style.extension)]
        if "/" in member[len(style.folder) :]:
            continue  # a subfolder, not part of this set
        if style.naming is Naming.CODEPOINTS:
            try:
                key = normalize_codepoints(stem)
            except ValueError:
                continue  # e.g. OpenMoji extras named "E0A0-..." are still hex; others are not
        else:
            key = stem.lower()
        index.setdefault(key, member)
    return index


def resolve_sources(
    style: StyleSet,
    contents: Sequence[Content],
    members: Iterable[str],
    drawn: set[str] | None = None,
) -> dict[str, str]:
    """Content id -> tarball member, for every content this style set has."""
    index = index_members(style, members)
    found: dict[str, str] = {}
    for content in contents:
        if drawn is not None and content.content_id not in drawn:
            continue
        if style.naming is Naming.CODEPOINTS:
            keys = [content.content_id]
        elif style.naming is Naming.ICONIFY:
            slugs = [slugify(content.name), slugify(content.unicode_name)]
            keys = slugs + [slug.replace("-", "") for slug in slugs]
        else:
            keys = [slugify(content.name), FLUENT_ALIASES.get(content.content_id, "")]
        for key in keys:
            if key in index:
                found[content.content_id] = index[key]
                break
    return found
