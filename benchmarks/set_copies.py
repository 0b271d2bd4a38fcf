"""How close each extra pretraining set's drawings are to the core sets' (near-copy check).

Prints, for every (extra set, core set) pair, the mean absolute pixel difference (0-255, 32 px) of
their drawings of the same contents, its lowest value, and how many drawings fall under the
build's near-copy threshold (`styledrop.world.copies.NEAR_COPY_MAD`). A set whose mean sits near
the threshold repeats another's designs (Fluent 3D against Fluent modern: 6.5 at 64 px) and is
left out; single images under it are dropped by `styledrop data emoji` when they copy a held-out
image.

    .venv/bin/python benchmarks/set_copies.py --data data/emoji
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from styledrop.world.copies import NEAR_COPY_MAD, load_pixels, mean_abs_difference
from styledrop.world.manifest import load_manifest
from styledrop.world.styles import STYLE_SETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/emoji"))
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args()
    by_style: dict[str, dict[str, Path]] = defaultdict(dict)
    for record in load_manifest(args.data):
        by_style[record.style][record.content_id] = record.paths[args.size]
    core = [s.id for s in STYLE_SETS if s.required]
    extra = [s.id for s in STYLE_SETS if not s.required] + core
    print(f"| set | against | shared contents | mean MAD | lowest | under {NEAR_COPY_MAD:g} |")
    print("|---|---|---:|---:|---:|---:|")
    for first in extra:
        for second in core:
            if first == second or (first in core and core.index(first) > core.index(second)):
                continue
            shared = sorted(set(by_style[first]) & set(by_style[second]))
            if not shared:
                continue
            values = [mean_abs_difference(load_pixels(by_style[first][c]), load_pixels(by_style[second][c]))
                      for c in shared]
            print(f"| {first} | {second} | {len(shared)} | {sum(values) / len(values):.1f} | {min(values):.1f} | "
                  f"{sum(v < NEAR_COPY_MAD for v in values)} |")


if __name__ == "__main__":
    main()
