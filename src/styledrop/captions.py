"""StyleDrop's caption convention, written once: "A {content} in {descriptor} style".

The paper captions the reference image and words every prompt this way (section 3.1); the
descriptor is "[V]" for a learned style, or a pretraining set's style words ("noto", "fluent
flat") in the emoji world. Pretraining captions, the demo, the feedback pool and the benchmarks
all build their prompts here, so that the base and its users agree on the wording; and the two
readings of it, finding a caption's descriptor and taking it out of a prompt, live here too.
"""

from __future__ import annotations

import re

PLACEHOLDER = "[V]"  # the descriptor of a style learned from a reference image
DESCRIPTOR = re.compile(r"\bin\s+(?:the\s+)?(.+?)\s+style\b", re.IGNORECASE)  # "... in [the] X style"


def style_caption(content: str, descriptor: str = PLACEHOLDER, *, article: str = "A") -> str:
    """"A cow in [V] style". `article="auto"` writes "An" before a vowel ("An owl in [V] style")."""
    if article == "auto":
        article = "An" if content[:1].lower() in "aeiou" else "A"
    return f"{article} {content} in {descriptor} style"


def find_descriptor(caption: str) -> str | None:
    """The style words of a caption: "A cow in [V] style" -> "[V]"; None without "in ... style"."""
    found = DESCRIPTOR.search(caption)
    return found.group(1) if found else None


STYLE_ONLY_NOUN = "emoji"  # "An emoji in twemoji style": a style with no content of the emoji vocabulary


def style_only_prompt(descriptor: str) -> str:
    """A style with no content: "noto" -> "An emoji in noto style" (pretraining's style-only captions)."""
    return style_caption(STYLE_ONLY_NOUN, descriptor, article="auto")


def style_only(prompt: str) -> str | None:
    """The prompt's style alone, "A cow in noto style" -> "An emoji in noto style"; None without a style."""
    descriptor = find_descriptor(prompt)
    return style_only_prompt(descriptor) if descriptor else None


def strip_style(prompt: str, descriptor: str) -> str:
    """The prompt without its style: "A cat in [V] style" -> "A cat" (the subject term, paper section 3.4)."""
    if not descriptor:
        return prompt
    pattern = re.compile(rf"\s*(in\s+)?(the\s+)?{re.escape(descriptor)}(\s+style)?", re.IGNORECASE)
    return pattern.sub("", prompt).strip() or prompt
