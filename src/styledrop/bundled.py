"""Where the weights shipped in the repository live (`models/` at the repository root).

The bundled base is the default `--base` of every command; `STYLEDROP_BASE` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"
EMOJI_BASE = MODELS / "emoji-base"
DEMO_REFERENCE = MODELS / "demo" / "openmoji-color-watermelon-32.png"


def default_base() -> str:
    return os.environ.get("STYLEDROP_BASE") or str(EMOJI_BASE)
