"""StyleDrop's caption convention, written once: "A {content} in {descriptor} style".

The paper captions the reference image and words every prompt this way (section 3.1); the
descriptor is "[V]" for a learned style, or a pretraining set's style words ("noto", "fluent
flat") in the emoji world. Pretraining captions, the demo, the feedback pool and the benchmarks
all build their prompts here, so that the base and its users agree on the wording.
"""

from __future__ import annotations

PLACEHOLDER = "[V]"  # the descriptor of a style learned from a reference image


def style_caption(content: str, descriptor: str = PLACEHOLDER, *, article: str = "A") -> str:
    """"A cow in [V] style". `article="auto"` writes "An" before a vowel ("An owl in [V] style")."""
    if article == "auto":
        article = "An" if content[:1].lower() in "aeiou" else "A"
    return f"{article} {content} in {descriptor} style"
