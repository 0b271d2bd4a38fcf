"""The emoji world: a small multi-style dataset built from real emoji artwork.

`dataset.build_emoji_dataset` fetches pinned npm packages (`sources`), finds each content's file
in each style set (`styles`, `resolve`), rasterizes it (`rasterize`), assigns splits (`splits`)
and writes the manifest (`manifest`) and the attribution (`licenses`).
"""
