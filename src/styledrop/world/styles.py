"""The style sets of the emoji world and where each one lies inside its npm package.

Seven core sets draw every content of the world: four are pretraining styles, three are held out
entirely and play the role of the "new style" that StyleDrop learns from one image. Six extra
pretraining sets (Iconify packages) add the drawings they have, so that "style" is a factor
across ten design teams' sets rather than four looks the base can memorise per concept.
The layouts below were read from the pinned tarballs; the Fluent SVGs are named by CLDR short
name (``icons/flat/cow-face.svg``), the Iconify sets likewise inside one ``icons.json``, every
other set by codepoints (``img/google/64/1f42e.png``).

Left out: ``@svgmoji/blob`` (Blobmoji) holds no drawings, only code that loads sprites from a
CDN at run time; ``@iconify-json/noto``, ``twemoji``, ``fluent-emoji*`` and ``openmoji`` repeat
sets already here (and the last two would leak the held-out styles).

Also left out: ``@lobehub/fluent-emoji-3d@1.1.0`` (integrity ``sha512-Wlq2lVSt...3h7g==``,
its only version), sold as a "Fluent 3D" set. Its 256 px WebPs turned out to be the Fluent *Color*
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
    ICONIFY = "iconify"  # one icons.json; icons named "cow-face" or "cowface" (world/iconify.py)


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
    words: str  # the style words of pretraining captions: "A cow in {words} style"
    has_img_key: str | None = None  # emoji.json flag that says the set drew this emoji
    # True: a content enters the world only if this set draws it. The extra sets (False) add the
    # drawings they have of the world's contents and are never held out or required.
    required: bool = True


STYLE_SETS: tuple[StyleSet, ...] = (
    StyleSet(
        id="noto",
        package="emoji-datasource-google",
        folder="package/img/google/64/",
        extension=".png",
        naming=Naming.CODEPOINTS,
        heldout=False,
        descriptor="Noto: rounded flat shapes in bright colours with soft shading",
        words="noto",
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
        words="twemoji",
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
        words="fluent flat",
    ),
    StyleSet(
        id="fluent-modern",
        package="fluentui-emoji",
        folder="package/icons/modern/",
        extension=".svg",
        naming=Naming.CLDR_SLUG,
        heldout=False,
        descriptor="Fluent color: soft gradients and inner shadows, a glossy semi-3D look",
        words="fluent modern",
    ),
    StyleSet(
        id="openmoji-color",
        package="openmoji",
        folder="package/color/svg/",
        extension=".svg",
        naming=Naming.CODEPOINTS,
        heldout=True,
        descriptor="OpenMoji color: flat colours inside thick black outlines",
        words="openmoji color",
    ),
    StyleSet(
        id="openmoji-black",
        package="openmoji",
        folder="package/black/svg/",
        extension=".svg",
        naming=Naming.CODEPOINTS,
        heldout=True,
        descriptor="OpenMoji black: black line drawing on white, no fill",
        words="openmoji black",
    ),
    StyleSet(
        id="fluent-high-contrast",
        package="fluentui-emoji",
        folder="package/icons/high-contrast/",
        extension=".svg",
        naming=Naming.CLDR_SLUG,
        heldout=True,
        descriptor="Fluent high contrast: solid black silhouettes with white cut-out details",
        words="fluent high contrast",
    ),
)

# The extra pretraining sets: they add the drawings they have of the world's contents (from 142 to
# 321 of the 411). None is held out; the held-out pairs stay those of the four sets above.
EXTRA_SETS: tuple[tuple[str, str, str, str], ...] = (
    # (id, npm package, caption words, descriptor)
    ("emojione", "@iconify-json/emojione", "emojione",
     "EmojiOne 2: bright flat colours with light shading, rounded shapes"),
    ("emojione-v1", "@iconify-json/emojione-v1", "emojione classic",
     "EmojiOne 1: glossy colours with soft gradients and grey bases"),
    ("emojione-monotone", "@iconify-json/emojione-monotone", "emojione monotone",
     "EmojiOne monotone: solid black shapes with white details"),
    ("fxemoji", "@iconify-json/fxemoji", "firefox",
     "Firefox OS: flat saturated colours, simple geometric shapes"),
    ("noto-v1", "@iconify-json/noto-v1", "android",
     "Noto v1 (Android 7): flat colours with soft round forms"),
    ("streamline", "@iconify-json/streamline-emojis", "streamline",
     "Streamline: thick dark outlines around flat pastel fills"),
)
STYLE_SETS += tuple(
    StyleSet(id=style_id, package=package, folder="package/", extension=".svg", naming=Naming.ICONIFY,
             heldout=False, descriptor=descriptor, words=words, required=False)
    for style_id, package, words, descriptor in EXTRA_SETS
)

PRETRAIN_STYLES = tuple(style.id for style in STYLE_SETS if not style.heldout)
HELDOUT_STYLES = tuple(style.id for style in STYLE_SETS if style.heldout)
PAIR_STYLES = tuple(style.id for style in STYLE_SETS if not style.heldout and style.required)  # held-out pairs
STYLE_WORDS = {style.id: style.words for style in STYLE_SETS}
