"""The build against a fake set of packages: manifest, splits, idempotence, resumption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from styledrop.world.dataset import build_emoji_dataset
from styledrop.world.manifest import load_manifest, select
from styledrop.world.styles import HELDOUT_STYLES, PAIR_STYLES, STYLE_SETS


def build(out: Path, fake, **kwargs):
    return build_emoji_dataset(
        out,
        local_tarballs=fake.tarballs,
        pins=fake.pins,
        vocabulary=fake.contents,
        npm="/nonexistent/npm",  # the fake tarballs must be enough: npm is never called
        progress=False,
        heldout_pair_fraction=kwargs.pop("heldout_pair_fraction", 0.1),
        **kwargs,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory, fake_packages):
    out = tmp_path_factory.mktemp("emoji")
    return out, build(out, fake_packages)


def test_manifest_has_one_record_per_content_and_style(built):
    out, summary = built
    records = load_manifest(out)
    assert summary.vocabulary_size == 6 and summary.contents == 5
    assert summary.dropped == {"1f34c": ["openmoji-black"]}  # banana lacks one core set
    left_out = {("1f3b9", "streamline"), ("1f404", "fxemoji")}  # no piano; a held-out cow's copy
    assert summary.near_copies == {"fxemoji": ["1f404"]}
    assert len(records) == summary.images == 5 * len(STYLE_SETS) - len(left_out)
    assert {(r.content_id, r.style) for r in records} == {
        (c, s.id) for c in ("1f404", "1f3b9", "2708", "1f3e0", "1fa85") for s in STYLE_SETS
    } - left_out
    squashed = next(r for r in records if r.content_id == "1f3b9" and r.style == "fxemoji")
    assert squashed.source_file == "package/icons.json#musicalkeyboard"
    assert squashed.package == "@iconify-json/fxemoji@1.2.2" and squashed.license == "Apache-2.0"
    piano = next(r for r in records if r.content_id == "1f3b9" and r.style == "noto")
    assert piano.caption == "piano" and "keyboard" in piano.synonyms
    assert piano.package == "emoji-datasource-google@16.0.0" and piano.license == "Apache-2.0"
    assert piano.source_file == "package/img/google/64/1f3b9.png"
    airplane = next(r for r in records if r.content_id == "2708" and r.style == "noto")
    assert airplane.source_file.endswith("2708-fe0f.png")  # joined despite the FE0F
    for record in records:
        assert set(record.paths) == {32, 64}
        for size, path in record.paths.items():
            with Image.open(path) as image:
                assert image.size == (size, size) and image.mode == "RGB"


def test_heldout_styles_never_reach_pretraining(built):
    out, _ = built
    records = load_manifest(out)
    pretrain = select(records, splits=["pretrain"])
    assert pretrain and not {r.style for r in pretrain} & set(HELDOUT_STYLES)
    for record in records:
        if record.style in HELDOUT_STYLES:
            assert record.split == "heldout_style"
    # no image file of a held-out style is shared with a pretraining record
    pretrain_files = {p for r in pretrain for p in r.paths.values()}
    heldout_files = {p for r in select(records, splits=["heldout_style"]) for p in r.paths.values()}
    assert not pretrain_files & heldout_files


def test_heldout_pairs_are_excluded_from_pretraining_but_keep_their_parts(built):
    out, summary = built
    records = load_manifest(out)
    pairs = select(records, splits=["heldout_pair"])
    assert len(pairs) == round(0.1 * 5 * len(PAIR_STYLES))
    assert len(pairs) == summary.split_totals["heldout_pair"]
    assert len({r.content_id for r in pairs}) == len(pairs)  # at most one per content
    pretrain = {(r.content_id, r.style) for r in select(records, splits=["pretrain"])}
    for record in pairs:
        assert record.style in PAIR_STYLES  # the extra sets are never held out
        assert (record.content_id, record.style) not in pretrain
        assert any(c == record.content_id for c, _ in pretrain)  # content still seen
        assert any(s == record.style for _, s in pretrain)  # style still seen


def test_summary_and_licenses_are_written(built):
    out, summary = built
    saved = json.loads((out / "summary.json").read_text())
    assert saved["counts"] == summary.counts
    assert saved["counts"]["openmoji-color"] == {
        "pretrain": 0,
        "heldout_pair": 0,
        "heldout_style": 5,
    }
    assert sum(saved["split_totals"].values()) == summary.images
    licenses = (out / "LICENSES.md").read_text()
    for phrase in ("CC-BY-4.0", "CC-BY-SA-4.0", "Apache-2.0", "MIT", "OpenMoji"):
        assert phrase in licenses
    assert (out / "licenses" / "openmoji-17.0.0" / "LICENSE.txt").read_text() == "CC BY-SA 4.0"


def test_a_second_run_is_a_no_op_and_a_broken_run_resumes(tmp_path, fake_packages):
    first = build(tmp_path, fake_packages)
    manifest = (tmp_path / "manifest.jsonl").read_bytes()
    image = tmp_path / "images" / "32" / "noto" / "1f404.png"
    stamp = image.stat().st_mtime_ns
    second = build(tmp_path, fake_packages)
    copies = sum(len(ids) for ids in first.near_copies.values())  # drawn to be compared, not listed
    assert first.rendered == first.images + copies and second.rendered == 0
    assert (tmp_path / "manifest.jsonl").read_bytes() == manifest
    assert image.stat().st_mtime_ns == stamp
    image.unlink()  # as if the first run had stopped before drawing it
    third = build(tmp_path, fake_packages)
    assert third.rendered == 1 and image.exists()
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temporaries


def test_the_heldout_pair_choice_is_fixed_by_the_seed(tmp_path, fake_packages):
    def pairs(seed: int, folder: str):
        build(tmp_path / folder, fake_packages, seed=seed, heldout_pair_fraction=0.25)
        records = select(load_manifest(tmp_path / folder), splits=["heldout_pair"])
        return {(r.content_id, r.style) for r in records}

    assert pairs(3, "a") == pairs(3, "b")
    assert len(pairs(3, "a")) == 5  # 0.25 x 5 contents x 4 pair styles: one per content


def test_heldout_pairs_ignore_the_global_rng_and_reject_too_large_fractions():
    import random

    from styledrop.errors import StyleDropError
    from styledrop.world.splits import choose_heldout_pairs

    contents = [f"{i:x}" for i in range(100)]
    random.seed(1)
    first = choose_heldout_pairs(contents, PAIR_STYLES, fraction=0.05, seed=0)
    random.seed(2)
    assert choose_heldout_pairs(reversed(contents), PAIR_STYLES, fraction=0.05, seed=0) == first
    assert len(first) == round(0.05 * 100 * len(PAIR_STYLES))
    with pytest.raises(StyleDropError, match="fraction"):
        choose_heldout_pairs(contents, PAIR_STYLES, fraction=0.5, seed=0)


def test_the_extra_sets_leave_the_heldout_pairs_as_they_were(tmp_path, fake_packages):
    core = [style for style in STYLE_SETS if style.required]
    build(tmp_path / "core", fake_packages, styles=core, heldout_pair_fraction=0.25)
    build(tmp_path / "all", fake_packages, heldout_pair_fraction=0.25)

    def pairs(folder: str):
        return {(r.content_id, r.style) for r in select(load_manifest(tmp_path / folder), splits=["heldout_pair"])}

    assert pairs("core") == pairs("all") and pairs("all")


def test_an_iconify_package_must_state_the_pinned_license(tmp_path, fake_packages):
    from dataclasses import replace

    from styledrop.errors import StyleDropError

    pins = tuple(replace(p, license="MIT") if p.name == "@iconify-json/fxemoji" else p for p in fake_packages.pins)
    with pytest.raises(StyleDropError, match=r"fxemoji@1\.2\.2: its info\.json states the license 'Apache-2\.0'"):
        build(tmp_path, replace(fake_packages, pins=pins))
