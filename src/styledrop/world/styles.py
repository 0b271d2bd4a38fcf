"""The eight style sets of the emoji world and where each one lies inside its npm package.

Four sets are pretraining styles (the bundled base model and the tokenizer see them); three are
held out entirely and play the role of the "new style" that StyleDrop learns from one image.
The layouts below were read from the pinned tarballs; the Fluent SVGs are named by CLDR short
name (``icons/flat/cow-face.svg``), every other set by codepoints (``img/google/64/1f42e.png``).

Issue 3 also named ``@lobehub/fluent-emoji-3d@1.1.0`` (integrity ``sha512-Wlq2lVSt...3h7g==``,
its only version) as a "Fluent 3D" set. Its 256 px WebPs turned out to be the Fluent *Color*
design, the same drawings as ``fluentui-emoji``'s ``icons/modern`` (mean absolute difference
6.5/255 at 64 px over the vocabulary, against 14.0 between Fluent flat and modern), not
Microsoft's 3D renders. As a sixth set it would add no new style and would leak every held-out
(content, fluent-modern) pair into pretraining through its twin, so it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Naming(Enum):
    CODEPOINTS = "codepoints"  # "1f42e.png", "2708-fe0f.png", "1F42E.svg"
    CLDR_SLUG = "cldr-slug"  # "cow-face.svg": the CLDR short name, lower-case, "-" for spaces


@dataclass(frozen=True)
class StyleSet:
    """One design language: a folder of same-sized images of one package."""

    id: str  # e.g. "fluent-flat"
    package: str  # npm package name, pinned in sources.json
    folder: str  # folder inside the tarball, e.g. "package/icons/flat/"
    extension: str  # ".png", ".svg" or ".webp"
    naming: Naming
    heldout: bool  # True: no image of this set may reach pretraining
    descriptor: str  # how the style looks, in words a prompt could use
    has_img_key: str | None = None  # emoji.json flag that says the set drew this emoji


STYLE_SETS: tuple[StyleSet, ...] = (
    StyleSet(
        id="noto",
        package="emoji-datasource-google",
        folder="package/img/google/64/",
        extension=".png",
        naming=Naming.CODEPOINTS,
        heldout=False,
        descriptor="Noto: rounded flat shapes in bright colours with soft shading",
        has_img_key="has_img_google",
    ),
    StyleSet(
        id="twemoji",
        package="emoji-datasource-twitter",
        folder="package/img/twitter/64/",
        extension=".png",
        naming=Naming.CODEPOINTS,
        heldout=False,
        descriptor="Twemoji: simple geometric flat shapes in flat colours, no outlines",
        has_img_key="has_img_twitter",
    ),
    StyleSet(
        id="fluent-flat",
        package="fluentui-emoji",
        folder="package/icons/flat/",
        extension=".svg",
        naming=Naming.CLDR_SLUG,
        heldout=False,
        descriptor="Fluent flat: flat muted colours with simple tonal details",
    ),
    StyleSet(
        id="fluent-modern",
        package="fluentui-emoji",
        folder="package/icons/modern/",
        extension=".svg",
        naming=Naming.CLDR_SLUG,
        heldout=False,
        descriptor="Fluent color: soft gradients and inner shadows, a glossy semi-3D look",
    ),
    StyleSet(
        id="openmoji-color",
        package="openmoji",
        folder="package/color/svg/",
        extension=".svg",
        naming=Naming.CODEPOINTS,
        heldout=True,
        descriptor="OpenMoji color: flat colours inside thick black outlines",
    ),
    StyleSet(
        id="openmoji-black",
        package="openmoji",
        folder="package/black/svg/",
        extension=".svg",
        naming=Naming.CODEPOINTS,
        heldout=True,
        descriptor="OpenMoji black: black line drawing on white, no fill",
    ),
    StyleSet(
        id="fluent-high-contrast",
        package="fluentui-emoji",
        folder="package/icons/high-contrast/",
        extension=".svg",
        naming=Naming.CLDR_SLUG,
        heldout=True,
        descriptor="Fluent high contrast: solid black silhouettes with white cut-out details",
    ),
)

PRETRAIN_STYLES = tuple(style.id for style in STYLE_SETS if not style.heldout)
HELDOUT_STYLES = tuple(style.id for style in STYLE_SETS if style.heldout)
