"""Build the multi-style emoji dataset: `build_emoji_dataset(out_dir)`.

Layout of `out_dir`::

    npm/                         verified tarballs (`npm pack` cache) and extracted/ members
    images/<size>/<style>/<content_id>.png   RGB on white
    manifest.jsonl               one record per (content, style), see manifest.py
    summary.json                 counts per style and split
    LICENSES.md, licenses/       attribution per set, the packages' own license texts

Every step skips work already done (a verified tarball, an extracted member, an image on disk),
and every file is written atomically, so an interrupted build resumes where it stopped.
Images are not re-rendered when the rasterizer changes: delete `images/` to redraw them.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import StyleDropError
from ..files import atomic_write_bytes, atomic_write_text
from ..progress import progress_bar
from . import splits as split_names
from .copies import copies_any
from .iconify import ICONS_JSON, icon_member, icon_name, is_icon_member, load_icon_set
from .licenses import write_licenses
from .manifest import ManifestRecord, write_manifest
from .rasterize import rasterize
from .resolve import drawn_ids, resolve_sources
from .sources import (
    PackagePin,
    extract_members,
    fetch_tarball,
    list_members,
    load_pins,
)
from .splits import choose_heldout_pairs, split_of
from .styles import STYLE_SETS, Naming, StyleSet
from .vocabulary import Content, load_vocabulary

EMOJI_JSON = "package/emoji.json"  # emoji-datasource metadata: names, categories, has_img_*


@dataclass(frozen=True)
class DatasetSummary:
    """What a build produced; also written to `summary.json`."""

    vocabulary_size: int  # contents in vocabulary.json
    contents: int  # contents present in every required style set, hence in the dataset
    dropped: dict[str, list[str]]  # content id -> required style sets that lack it
    sizes: list[int]
    images: int  # manifest records (each has one PNG per size)
    counts: dict[str, dict[str, int]]  # style -> split -> records
    split_totals: dict[str, int]
    heldout_pair_fraction: float
    seed: int
    packages: dict[str, str]  # name@version -> verified integrity
    rendered: int  # records drawn by this run (the rest were already on disk)
    seconds: float
    near_copies: dict[str, list[str]]  # extra style -> content ids left out as copies of held-out images


def _package_dir(pin: PackagePin) -> str:
    return pin.tarball_name.removesuffix(".tgz")


def _image_paths(style: str, content_id: str, sizes: Sequence[int]) -> dict[int, Path]:
    return {size: Path("images") / str(size) / style / f"{content_id}.png" for size in sizes}


def _write_png(path: Path, image) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _check_arguments(sizes: Sequence[int], styles: Sequence[StyleSet], pins) -> None:
    if not sizes or any(not isinstance(s, int) or not 8 <= s <= 256 for s in sizes):
        raise StyleDropError(f"image sizes {list(sizes)} must be integers in [8, 256]")
    missing = sorted({style.package for style in styles} - {pin.name for pin in pins})
    if missing:
        raise StyleDropError(f"style sets use packages {missing} that sources.json does not pin")


def build_emoji_dataset(
    out_dir: Path | str,
    sizes: Sequence[int] = (32, 64),
    *,
    heldout_pair_fraction: float = 0.05,
    seed: int = 0,
    local_tarballs: Mapping[str, Path] | None = None,
    npm: str = "npm",
    pins: Sequence[PackagePin] | None = None,
    styles: Sequence[StyleSet] = STYLE_SETS,
    vocabulary: Sequence[Content] | None = None,
    progress: bool = True,
) -> DatasetSummary:
    """Fetch, verify, extract and rasterize the emoji world into `out_dir`; see the module doc.

    `local_tarballs` (``name@version`` -> path) replaces `npm pack` for those packages; `pins`,
    `styles` and `vocabulary` default to the project's fixed ones and exist for tests.
    """
    start = time.monotonic()
    out = Path(out_dir)
    sizes = sorted(set(sizes))
    pins = tuple(load_pins() if pins is None else pins)
    contents = list(load_vocabulary() if vocabulary is None else vocabulary)
    _check_arguments(sizes, styles, pins)
    used = [pin for pin in pins if any(style.package == pin.name for style in styles)]

    # 1. Fetch and verify the tarballs, read their file lists and metadata.
    cache, extracted = out / "npm", out / "npm" / "extracted"
    tarballs: dict[str, Path] = {}
    members: dict[str, list[str]] = {}
    icon_sets: dict[str, dict[str, bytes]] = {}  # package -> icon name -> SVG, parsed once
    for pin in progress_bar(used, desc="npm packages", unit="pkg", disable=not progress):
        tarballs[pin.name] = fetch_tarball(pin, cache, local_tarballs=local_tarballs, npm=npm)
        members[pin.name] = list_members(tarballs[pin.name])
        metadata = list(pin.license_files)
        if any(style.package == pin.name and style.has_img_key for style in styles):
            metadata.append(EMOJI_JSON)
        iconify = any(style.package == pin.name and style.naming is Naming.ICONIFY for style in styles)
        if iconify:
            metadata.append(ICONS_JSON)
        extract_members(tarballs[pin.name], metadata, extracted / _package_dir(pin))
        if iconify:
            _check_iconify_license(pin, extracted / _package_dir(pin))
            icon_sets[pin.name] = load_icon_set(extracted / _package_dir(pin) / ICONS_JSON)
            members[pin.name] += [icon_member(name) for name in icon_sets[pin.name]]
    by_name = {pin.name: pin for pin in used}

    # 2. Find every content in every style set; keep the contents that all required sets have.
    sources: dict[str, dict[str, str]] = {}
    for style in styles:
        drawn = None
        if style.has_img_key:
            emoji_json = extracted / _package_dir(by_name[style.package]) / EMOJI_JSON
            drawn = drawn_ids(emoji_json.read_bytes(), style.has_img_key)
        sources[style.id] = resolve_sources(style, contents, members[style.package], drawn)
    required = [style for style in styles if style.required]
    dropped = {
        content.content_id: [s.id for s in required if content.content_id not in sources[s.id]]
        for content in contents
    }
    dropped = {content_id: lacking for content_id, lacking in dropped.items() if lacking}
    kept = [content for content in contents if content.content_id not in dropped]
    if not kept:
        raise StyleDropError(
            f"no content of the vocabulary is present in all {len(required)} required style sets"
        )

    # 3. Extract only the members that will be drawn.
    for pin in used:
        wanted = {
            sources[style.id][content.content_id]
            for style in styles
            if style.package == pin.name
            for content in kept
            if content.content_id in sources[style.id]
        }
        files = sorted(member for member in wanted if not is_icon_member(member))
        extract_members(tarballs[pin.name], files, extracted / _package_dir(pin))
        _write_icons(extracted / _package_dir(pin), sorted(set(wanted) - set(files)), icon_sets.get(pin.name, {}))

    # 4. Splits, then draw what is missing and collect the manifest.
    heldout_pairs = choose_heldout_pairs(
        [content.content_id for content in kept],
        [style.id for style in required if not style.heldout],
        fraction=heldout_pair_fraction,
        seed=seed,
    )
    heldout_styles = [style.id for style in styles if style.heldout]
    records: list[ManifestRecord] = []
    rendered = 0
    near_copies: dict[str, list[str]] = {}
    heldout_paths: dict[str, list[Path]] = {}  # content id -> its held-out images, smallest size
    jobs = [(style, content) for style in styles for content in kept if content.content_id in sources[style.id]]
    jobs.sort(key=lambda job: not job[0].required)  # the held-out images exist before any copy check
    for style, content in progress_bar(jobs, desc="rasterize", unit="img", disable=not progress):
        pin = by_name[style.package]
        member = sources[style.id][content.content_id]
        paths = _image_paths(style.id, content.content_id, sizes)
        if not all((out / path).exists() for path in paths.values()):
            images = rasterize(extracted / _package_dir(pin) / _source_path(member), sizes)
            for size, path in paths.items():
                _write_png(out / path, images[size])
            rendered += 1
        if not style.required:
            if copies_any(out / paths[min(sizes)], heldout_paths.get(content.content_id, [])):
                near_copies.setdefault(style.id, []).append(content.content_id)
                continue
        records.append(
            ManifestRecord(
                content_id=content.content_id,
                name=content.name,
                caption=content.caption,
                synonyms=content.synonyms,
                category=content.category,
                style=style.id,
                split=split_of(
                    content.content_id,
                    style.id,
                    heldout_styles=heldout_styles,
                    heldout_pairs=heldout_pairs,
                ),
                paths=paths,
                source_file=member,
                package=pin.spec,
                license=pin.license,
            )
        )
        if records[-1].split != split_names.PRETRAIN:
            heldout_paths.setdefault(content.content_id, []).append(out / paths[min(sizes)])

    # 5. Manifest, attribution, summary.
    write_manifest(out, records)
    write_licenses(out, used, styles, extracted)
    counts = {
        style.id: {
            split: sum(1 for r in records if r.style == style.id and r.split == split)
            for split in split_names.SPLITS
        }
        for style in styles
    }
    summary = DatasetSummary(
        vocabulary_size=len(contents),
        contents=len(kept),
        dropped=dropped,
        sizes=list(sizes),
        images=len(records),
        counts=counts,
        split_totals={s: sum(c[s] for c in counts.values()) for s in split_names.SPLITS},
        heldout_pair_fraction=heldout_pair_fraction,
        seed=seed,
        packages={pin.spec: pin.integrity for pin in used},
        rendered=rendered,
        seconds=round(time.monotonic() - start, 2),
        near_copies=near_copies,
    )
    atomic_write_text(out / "summary.json", json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _source_path(member: str) -> str:
    """Where a member lies under the package's extracted folder (icons: their own SVG file)."""
    return f"package/iconify/{icon_name(member)}.svg" if is_icon_member(member) else member


def _write_icons(package_dir: Path, members: Sequence[str], icons: Mapping[str, bytes]) -> None:
    for member in members:
        if not (package_dir / _source_path(member)).exists():
            atomic_write_bytes(package_dir / _source_path(member), icons[icon_name(member)])


def _check_iconify_license(pin: PackagePin, package_dir: Path) -> None:
    """The license an Iconify package states for its artwork must be the one sources.json pins."""
    info = package_dir / "package" / "info.json"
    try:
        stated = json.loads(info.read_text(encoding="utf-8"))["license"]["spdx"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StyleDropError(f"{info}: no license.spdx in the package's info.json ({error})") from error
    if stated != pin.license:
        raise StyleDropError(
            f"{pin.spec}: its info.json states the license {stated!r}, but sources.json pins "
            f"{pin.license!r}; check the package's license before using its images"
        )

