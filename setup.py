"""Build hook: every wheel carries the bundled models, so an install works outside the checkout.

`models/` (the emoji-world base, the scorers, the demo's reference image; about 18 MB) sits at the
repository root beside `src/`, not inside the package, so setuptools' package data cannot reach
it. `build_py` copies it to `styledrop/models/` in the build, where `styledrop.bundled` looks
first. An editable install (`pip install -e .`, as the Makefile does) copies nothing:
`styledrop.bundled` then reads the checkout's `models/`. Metadata lives in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("emoji-base", "scorers", "demo")  # the folders of models/ that styledrop.bundled names


class BuildPyWithModels(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return
        for name in BUNDLED:
            source = ROOT / "models" / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; build from a full checkout (or an sdist of one), "
                                 "whose models/ holds the bundled weights")
            shutil.copytree(source, Path(self.build_lib) / "styledrop" / "models" / name, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithModels})
