"""Iconify icon sets: view boxes, aliases, and the SVGs they turn into."""

from __future__ import annotations

import json

import pytest

from styledrop.errors import StyleDropError
from styledrop.world.iconify import icon_member, icon_name, load_icon_set
from styledrop.world.rasterize import rasterize


def write_set(path, data) -> None:
    path.write_text(json.dumps(data))


def test_icons_take_their_own_or_the_sets_view_box_and_plain_aliases(tmp_path):
    data = {
        "width": 64, "height": 48,
        "icons": {"cow": {"body": "<rect width='8' height='8'/>"},
                  "tall": {"body": "<rect/>", "width": 10, "left": -2}},
        "aliases": {"cattle": {"parent": "cow"}, "mirrored-cow": {"parent": "cow", "hFlip": True},
                    "ghost": {"parent": "missing"}},
    }
    write_set(tmp_path / "icons.json", data)
    svgs = load_icon_set(tmp_path / "icons.json")
    assert set(svgs) == {"cow", "tall", "cattle"}  # a flipped alias is not the set's drawing
    assert b'viewBox="0 0 64 48"' in svgs["cow"] and b'viewBox="-2 0 10 48"' in svgs["tall"]
    assert svgs["cattle"] == svgs["cow"]
    assert icon_name(icon_member("cow")) == "cow"


def test_an_icon_renders_like_any_svg(tmp_path):
    write_set(tmp_path / "icons.json", {"icons": {"dot": {"body": '<circle cx="8" cy="8" r="8" fill="#ff0000"/>'}}})
    (tmp_path / "dot.svg").write_bytes(load_icon_set(tmp_path / "icons.json")["dot"])
    image = rasterize(tmp_path / "dot.svg", [32])[32]
    assert image.getpixel((16, 16)) == (255, 0, 0) and image.getpixel((0, 0)) == (255, 255, 255)


def test_a_broken_icon_set_names_the_file(tmp_path):
    (tmp_path / "icons.json").write_text("{not json")
    with pytest.raises(StyleDropError, match=r"icons\.json: not an Iconify icon set"):
        load_icon_set(tmp_path / "icons.json")
