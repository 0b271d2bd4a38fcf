"""Fetching: pins, integrity, and the clear errors when npm or the registry is missing."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from styledrop.errors import StyleDropError
from styledrop.world.dataset import build_emoji_dataset
from styledrop.world.sources import PackagePin, fetch_tarball, load_pins


def test_pins_are_complete():
    pins = {pin.name: pin for pin in load_pins()}
    assert set(pins) == {
        "emoji-datasource-google",
        "emoji-datasource-twitter",
        "fluentui-emoji",
        "openmoji",
        "@iconify-json/emojione",
        "@iconify-json/emojione-v1",
        "@iconify-json/emojione-monotone",
        "@iconify-json/fxemoji",
        "@iconify-json/noto-v1",
        "@iconify-json/streamline-emojis",
    }
    for pin in pins.values():
        assert pin.integrity.startswith("sha512-") and len(pin.integrity) == 95
        assert pin.license_files and pin.attribution


def test_scoped_package_tarball_name_matches_npm_pack():
    pin = PackagePin("@scope/pkg", "1.1.0", "sha512-x", "MIT", "art", "attr", ())
    assert pin.spec == "@scope/pkg@1.1.0" and pin.tarball_name == "scope-pkg-1.1.0.tgz"


def test_local_tarball_is_verified_and_cached(tmp_path, fake_packages):
    pin = fake_packages.pins[0]
    path = fetch_tarball(pin, tmp_path, local_tarballs=fake_packages.tarballs)
    assert path == tmp_path / pin.tarball_name and path.exists()
    assert fetch_tarball(pin, tmp_path, npm="/nonexistent/npm") == path  # cache hit, no npm


def test_integrity_mismatch_is_refused(tmp_path, fake_packages):
    pin = replace(fake_packages.pins[0], integrity="sha512-" + "A" * 86 + "==")
    with pytest.raises(StyleDropError, match="integrity"):
        fetch_tarball(pin, tmp_path, local_tarballs=fake_packages.tarballs)
    assert not (tmp_path / pin.tarball_name).exists()


def test_missing_npm_names_the_fix(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(StyleDropError, match=r"`npm` was not found on PATH.*install"):
        build_emoji_dataset(tmp_path / "out", progress=False)


def test_unreachable_registry_names_the_fix(tmp_path):
    fake_npm = tmp_path / "npm"
    fake_npm.write_text(
        "#!/bin/sh\necho 'npm error code ENOTFOUND' >&2\n"
        "echo 'npm error request to https://registry.npmjs.org failed' >&2\nexit 1\n"
    )
    os.chmod(fake_npm, 0o755)
    pin = load_pins()[0]
    with pytest.raises(StyleDropError, match=r"ENOTFOUND.*registry is reachable"):
        fetch_tarball(pin, tmp_path / "cache", npm=str(fake_npm))
    assert not list((tmp_path / "cache").iterdir())  # nothing half-written


def test_npm_pack_output_is_picked_up(tmp_path, fake_packages):
    """A stand-in npm that "packs" by copying the fake tarball into its working folder."""
    pin = fake_packages.pins[-1]
    source = Path(fake_packages.tarballs[pin.spec])
    fake_npm = tmp_path / "npm"
    fake_npm.write_text(f"#!/bin/sh\ncp '{source}' ./{pin.tarball_name}\n")
    os.chmod(fake_npm, 0o755)
    path = fetch_tarball(pin, tmp_path / "cache", npm=str(fake_npm))
    assert path.read_bytes() == source.read_bytes()
