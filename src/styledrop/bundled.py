"""Where the weights shipped with styledrop live: the emoji-world base, the scorers, the demo image.

An installed wheel carries them inside the package, as `styledrop/models/` (setup.py copies the
repository's `models/` there); a checkout, or an editable install of one, reads the repository's
`models/` beside `src/`. The bundled base is the default `--base` of every command;
`STYLEDROP_BASE` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import StyleDropError

PACKAGED = Path(__file__).resolve().parent / "models"  # in a wheel
CHECKOUT = Path(__file__).resolve().parents[2] / "models"  # src/styledrop/bundled.py -> the repository root
MODELS = PACKAGED if PACKAGED.is_dir() else CHECKOUT
EMOJI_BASE = MODELS / "emoji-base"
SCORERS = MODELS / "scorers"
DEMO_REFERENCE = MODELS / "demo" / "openmoji-color-watermelon-32.png"


def default_base() -> str:
    return os.environ.get("STYLEDROP_BASE") or str(EMOJI_BASE)


def require(path: Path) -> Path:
    """`path` (one of the bundled paths above) if it is there; else an error saying how to get it."""
    if not Path(path).exists():
        raise StyleDropError(
            f"{path} is missing: this styledrop was installed without its bundled models (models/ of the repository: "
            "the emoji-world base, the scorers, the demo image; they are not on PyPI). Install it from a clone of "
            "the repository (`pip install .` there, or a wheel built there), which carries them; or pass your own "
            "base with --base DIR (or STYLEDROP_BASE=DIR)")
    return Path(path)
