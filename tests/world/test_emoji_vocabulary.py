"""The fixed vocabulary, the codepoint join key, the Fluent slugs, and the `data` CLI."""

from __future__ import annotations

import argparse

import pytest

from styledrop.world import cli
from styledrop.world.resolve import resolve_sources, slugify
from styledrop.world.styles import STYLE_SETS
from styledrop.world.vocabulary import load_vocabulary, normalize_codepoints


def test_normalize_codepoints():
    assert normalize_codepoints("2708-FE0F") == "2708"
    assert normalize_codepoints("1F426_200D_1F525") == "1f426-200d-1f525"
    with pytest.raises(ValueError):
        normalize_codepoints("cow-face")


def test_slugify_matches_fluent_file_names():
    assert slugify("musical keyboard") == "musical-keyboard"
    assert slugify("piñata") == "pinata"
    assert slugify("man's shoe") == "mans-shoe"
    assert slugify("globe showing Europe-Africa") == "globe-showing-europe-africa"


def test_vocabulary_is_curated():
    contents = load_vocabulary()
    assert 300 <= len(contents) <= 450
    by_name = {content.name: content for content in contents}
    assert by_name["musical keyboard"].caption == "piano"
    assert by_name["house"].caption == "house" and "house building" in by_name["house"].synonyms
    assert by_name["ewe"].caption == "sheep"
    for excluded in ("grinning face", "cow face", "thumbs up", "flag: Japan", "keycap: 1"):
        assert excluded not in by_name
    assert {"animal", "plant", "food", "vehicle", "building", "weather", "tool"} <= {
        content.category for content in contents
    }
    assert all("fe0f" not in content.content_id for content in contents)


def test_resolve_skips_sets_that_did_not_draw_the_emoji():
    style = next(style for style in STYLE_SETS if style.id == "noto")
    contents = load_vocabulary()[:2]
    members = [f"{style.folder}{content.content_id}.png" for content in contents]
    found = resolve_sources(style, contents, members, drawn={contents[0].content_id})
    assert list(found) == [contents[0].content_id]


def test_register_adds_data_emoji(monkeypatch, tmp_path, capsys, built):
    out, summary = built
    parser = argparse.ArgumentParser(prog="styledrop")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", "emoji", "--out", str(out), "--sizes", "32", "--seed", "7"])
    assert args.func is cli.run_emoji and args.sizes == [32] and args.seed == 7
    calls = []
    monkeypatch.setattr(cli, "build_emoji_dataset", lambda *a, **k: calls.append((a, k)) or summary)
    assert args.func(args) == 0
    assert calls[0][1]["seed"] == 7 and calls[0][1]["sizes"] == [32]
    printed = capsys.readouterr().out
    assert "openmoji-black" in printed and "heldout_style" in printed


@pytest.fixture()
def built(tmp_path, fake_packages):
    from styledrop.world.dataset import build_emoji_dataset

    summary = build_emoji_dataset(
        tmp_path / "emoji",
        sizes=(32,),
        local_tarballs=fake_packages.tarballs,
        pins=fake_packages.pins,
        vocabulary=fake_packages.contents,
        progress=False,
    )
    return tmp_path / "emoji", summary
