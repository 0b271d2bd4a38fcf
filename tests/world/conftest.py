"""A tiny fake of the pinned npm packages, built on the fly, with the real folder layouts.

Five contents are in every core set; "banana" is missing from OpenMoji black, so the build must
drop it. Airplane is stored as ``2708-fe0f`` (Noto) and ``2708`` (elsewhere) to exercise the join.
The Iconify sets hold one icons.json each: Streamline lacks the piano (an extra set may lack a
content), Firefox OS names icons squashed ("musicalkeyboard") and draws its cow exactly as
OpenMoji color does (a near-copy of a held-out image, which the build must leave out).
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from styledrop.world.sources import PackagePin, compute_integrity, load_pins
from styledrop.world.vocabulary import Content

CONTENTS = (
    Content("1f404", "cow", "cow", ("cattle",), "animal", "cow"),
    Content("1f3b9", "musical keyboard", "piano", ("keyboard",), "instrument", "musical keyboard"),
    Content("2708", "airplane", "airplane", ("plane",), "vehicle", "airplane"),
    Content("1f3e0", "house", "house", ("house building",), "building", "house building"),
    Content("1fa85", "piñata", "pinata", ("piñata",), "toy", "pinata"),
    Content("1f34c", "banana", "banana", (), "food", "banana"),
)
MISSING = {("openmoji", "package/black/svg/", "1f34c")}
ICONIFY_MISSING = {("@iconify-json/streamline-emojis", "1f3b9")}
ICONIFY_COPIES = {("@iconify-json/fxemoji", "1f404")}  # drawn like OpenMoji color's cow


def _png(color: tuple[int, int, int], size: int) -> bytes:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))  # transparent, as emoji are
    ImageDraw.Draw(image).ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), color)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _svg(color: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
        f'<circle cx="16" cy="16" r="8" fill="{color}"/></svg>'
    ).encode()


def _iconify(pin: PackagePin) -> dict[str, bytes]:
    icons = {}
    for c in CONTENTS:
        if (pin.name, c.content_id) in ICONIFY_MISSING:
            continue
        name = _file_stem(c, "icons/")
        name = name.replace("-", "") if "fxemoji" in pin.name else name
        color = "#000000" if (pin.name, c.content_id) in ICONIFY_COPIES else "#30c060"
        icons[name] = {"body": f'<circle cx="16" cy="16" r="8" fill="{color}"/>'}
    icon_set = {"prefix": pin.name.split("/")[-1], "width": 32, "height": 32, "icons": icons,
                "aliases": {"flipped-cow": {"parent": "cow", "hFlip": True}}}
    return {
        "package/icons.json": json.dumps(icon_set).encode(),
        "package/info.json": json.dumps({"license": {"spdx": pin.license}}).encode(),
        "package/package.json": json.dumps({"license": pin.license}).encode(),
    }


def _file_stem(content: Content, folder: str) -> str:
    if "icons/" in folder:  # Fluent: CLDR slug
        return {"musical keyboard": "musical-keyboard", "piñata": "pinata"}.get(
            content.name, content.name
        )
    if content.content_id == "2708" and "google" in folder:
        return "2708-fe0f"
    return content.content_id.upper() if "svg/" in folder else content.content_id


def _members(package: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {"package/package.json": b"{}", "package/README.md": b"readme"}
    if package.startswith("emoji-datasource"):
        key = "has_img_google" if "google" in package else "has_img_twitter"
        rows = [{"unified": c.content_id.upper(), key: True} for c in CONTENTS]
        files["package/emoji.json"] = json.dumps(rows).encode()
        files["package/LICENSE"] = b"MIT"
        folder = f"package/img/{package.split('-')[-1]}/64/"
        for c in CONTENTS:
            files[f"{folder}{_file_stem(c, folder)}.png"] = _png((200, 30, 30), 64)
    elif package == "fluentui-emoji":
        files["package/LICENSE"] = b"MIT"
        for style in ("flat", "modern", "high-contrast"):
            for c in CONTENTS:
                folder = f"package/icons/{style}/"
                files[f"{folder}{_file_stem(c, folder)}.svg"] = _svg("#3060c0")
    elif package == "openmoji":
        files["package/LICENSE.txt"] = b"CC BY-SA 4.0"
        for folder in ("package/color/svg/", "package/black/svg/"):
            for c in CONTENTS:
                if ("openmoji", folder, c.content_id) not in MISSING:
                    files[f"{folder}{_file_stem(c, folder)}.svg"] = _svg("#000000")
    return files


def make_tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@dataclass(frozen=True)
class FakePackages:
    pins: tuple[PackagePin, ...]
    tarballs: dict[str, Path]  # name@version -> tarball
    contents: tuple[Content, ...]


@pytest.fixture(scope="session")
def fake_packages(tmp_path_factory: pytest.TempPathFactory) -> FakePackages:
    folder = tmp_path_factory.mktemp("fake-npm")
    pins, tarballs = [], {}
    for real in load_pins():
        members = _iconify(real) if real.name.startswith("@iconify-json/") else _members(real.name)
        path = make_tarball(folder / real.tarball_name, members)
        pin = replace(real, integrity=compute_integrity(path))
        pins.append(pin)
        tarballs[pin.spec] = path
    return FakePackages(tuple(pins), tarballs, CONTENTS)
