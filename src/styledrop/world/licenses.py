"""Attribution for the dataset folder: `LICENSES.md` plus the packages' own license files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..files import atomic_write_text
from .sources import PackagePin
from .styles import StyleSet

LICENSE_URLS = {
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "MIT": "https://opensource.org/licenses/MIT",
}


def licenses_markdown(pins: Sequence[PackagePin], styles: Sequence[StyleSet]) -> str:
    lines = [
        "# Licenses and attribution",
        "",
        "The images in `images/` are adapted from the emoji sets below: each source file was",
        "rasterized (SVG with resvg), padded to a square, composited on a white background and",
        "resized. Each image keeps the license of its set; `manifest.jsonl` names the set, the",
        "package and the source file of every image. The packages' own license texts are copied",
        "under `licenses/`.",
        "",
        "| style set | package | artwork license |",
        "| --- | --- | --- |",
    ]
    by_name = {pin.name: pin for pin in pins}
    for style in styles:
        pin = by_name[style.package]
        lines.append(f"| {style.id} | {pin.spec} | {pin.license} |")
    for pin in pins:
        used = ", ".join(style.id for style in styles if style.package == pin.name)
        lines += [
            "",
            f"## {pin.spec} ({used})",
            "",
            f"- Artwork: {pin.artwork}",
            f"- License: {pin.license} ({LICENSE_URLS.get(pin.license, 'see the package')})",
            f"- Attribution: {pin.attribution}",
            f"- Verified tarball integrity: `{pin.integrity}`",
        ]
    return "\n".join(lines) + "\n"


def write_licenses(
    out_dir: Path,
    pins: Sequence[PackagePin],
    styles: Sequence[StyleSet],
    extracted_root: Path,
) -> None:
    """Write `LICENSES.md` and copy each package's license files to `licenses/<package>/`."""
    atomic_write_text(out_dir / "LICENSES.md", licenses_markdown(pins, styles))
    for pin in pins:
        folder = out_dir / "licenses" / pin.tarball_name.removesuffix(".tgz")
        for member in pin.license_files:
            source = extracted_root / pin.tarball_name.removesuffix(".tgz") / member
            atomic_write_text(folder / Path(member).name, source.read_text(encoding="utf-8"))
