"""Icon sets in the Iconify JSON format (`@iconify-json/*` packages): names and SVG files.

An Iconify package holds a whole set in one `icons.json`::

    {"prefix": "fxemoji", "width": 512, "height": 512,
     "icons": {"acorn": {"body": "<path .../>", "width": 72, "height": 72}, ...},
     "aliases": {"bear": {"parent": "bear-face"}, ...}}

Each icon is an SVG body; its view box is ``left top width height``, each of which falls back to
the set's root value (default 0, 0, 16, 16). Aliases that only rename an icon are followed; those
that also flip or rotate it are skipped (a mirrored drawing is not the set's drawing). Icons are
named by CLDR short name, hyphenated (``cow-face``) in most sets and squashed (``cowface``) in
Firefox OS's.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import StyleDropError

ICONS_JSON = "package/icons.json"  # where every @iconify-json package keeps its set
SEPARATOR = "#"  # a member "package/icons.json#acorn" names one icon inside the set
DEFAULT_BOX = {"left": 0, "top": 0, "width": 16, "height": 16}  # Iconify's documented defaults


def icon_member(name: str) -> str:
    """The pseudo tarball member that stands for one icon: ``package/icons.json#acorn``."""
    return f"{ICONS_JSON}{SEPARATOR}{name}"


def is_icon_member(member: str) -> bool:
    return member.startswith(ICONS_JSON + SEPARATOR)


def icon_name(member: str) -> str:
    return member.split(SEPARATOR, 1)[1]


def load_icon_set(path: Path) -> dict[str, bytes]:
    """Icon name -> a standalone SVG document, for every icon and plain alias of the set."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        icons, aliases = data["icons"], data.get("aliases", {})
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StyleDropError(
            f"{path}: not an Iconify icon set ({error}); delete it so that the next run "
            "extracts it again from the verified tarball"
        ) from error
    root = {key: data.get(key, value) for key, value in DEFAULT_BOX.items()}
    svgs = {name: _svg(icon, root) for name, icon in icons.items()}
    for name, alias in aliases.items():
        if set(alias) == {"parent"} and alias["parent"] in svgs:
            svgs.setdefault(name, svgs[alias["parent"]])
    return svgs


def _svg(icon: dict, root: dict) -> bytes:
    box = " ".join(str(icon.get(key, root[key])) for key in ("left", "top", "width", "height"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" '
        f'xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="{box}">{icon["body"]}</svg>'
    ).encode("utf-8")
