"""The bundled models travel with the package: a wheel built from the repository,
installed into a fresh venv, finds the default base and the scorers outside the checkout; an
install without them says how to get them instead of running on something else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

from styledrop import bundled, demo
from styledrop.cli import main
from styledrop.errors import StyleDropError
from styledrop.evaluation import weights

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("src", "models", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")  # what a build reads


def run(*argv, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_a_wheel_built_from_the_repository_finds_its_models_in_a_fresh_venv(tmp_path):
    tree = tmp_path / "tree"  # a copy, so that the build leaves no build/ or egg-info in the checkout
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, tree / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", tmp_path / "dist", tree, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("styledrop-*.whl"))

    # A fresh venv, without this one's styledrop (an editable install of the checkout): its
    # dependencies come from this venv's site-packages through a plain path line, which Python
    # adds without running the .pth files in it, so the checkout's src/ never gets on the path.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(*pip, "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("STYLEDROP_BASE", "PYTHONPATH")}
    env |= {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    where = run(python, "-c", "import styledrop; print(styledrop.__file__)", cwd=elsewhere, env=env).stdout
    assert where.startswith(str(site)), where

    info = json.loads(run(venv / "bin" / "styledrop", "info", cwd=elsewhere, env=env).stdout)  # the default --base
    assert info["base"] == str(site / "styledrop" / "models" / "emoji-base")
    assert info["text_encoder"] == "minilm" and info["transformer_parameters"] > 1_000_000

    reference = elsewhere / "reference.png"
    shutil.copy2(ROOT / "models" / "demo" / "openmoji-color-watermelon-32.png", reference)
    (elsewhere / "images").mkdir()
    shutil.copy2(reference, elsewhere / "images" / "0.png")
    run(venv / "bin" / "styledrop", "score", "--images", elsewhere / "images", "--reference", reference,
        "--prompts", "A watermelon", "--out", elsewhere / "scores.json", cwd=elsewhere, env=env)
    scores = json.loads((elsewhere / "scores.json").read_text())
    assert scores["images"][0]["style"] == "openmoji-color", scores["images"][0]  # the bundled scorers read it

    # an sdist (what `python -m build` builds the wheel from) carries them too
    run(sys.executable, "-c", "from setuptools import build_meta; build_meta.build_sdist('sdist')", cwd=tree)
    with tarfile.open(next((tree / "sdist").glob("*.tar.gz"))) as sdist:
        names = sdist.getnames()
    for name in ("emoji-base/transformer/diffusion_pytorch_model.safetensors", "scorers/model.safetensors",
                 "demo/openmoji-color-watermelon-32.png"):
        assert any(n.endswith(f"/models/{name}") for n in names), name


@pytest.fixture()
def no_bundled_models(tmp_path, monkeypatch) -> Path:
    """An install without models/: every bundled path points into an empty folder."""
    missing = tmp_path / "no-models"
    monkeypatch.delenv("STYLEDROP_BASE", raising=False)
    monkeypatch.setattr(bundled, "EMOJI_BASE", missing / "emoji-base")
    monkeypatch.setattr(demo, "DEMO_REFERENCE", missing / "demo" / "openmoji-color-watermelon-32.png")
    monkeypatch.setattr(weights, "DEFAULT_SCORER_DIR", missing / "scorers")
    return missing


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("styledrop: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("command", [["info"], ["demo"], ["generate", "--prompt", "A cow"]])
def test_without_the_bundled_base_each_command_says_how_to_get_it(command, no_bundled_models, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*command, "--out", str(out)] if command != ["info"] else command) == 2
    line = error_line(capsys)
    assert str(no_bundled_models / "emoji-base") in line and "pip install ." in line and "--base" in line, line
    assert not out.exists()  # the demo no longer runs on a random base instead


def test_without_the_demo_image_the_demo_stops_before_writing(no_bundled_models, tiny_base_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demo", "--base", str(tiny_base_dir), "--out", str(out)]) == 2
    assert str(no_bundled_models / "demo") in error_line(capsys) and not out.exists()


def test_without_the_bundled_scorers_loading_them_says_how_to_get_them(no_bundled_models):
    with pytest.raises(StyleDropError, match="pip install ."):
        weights.load_scorer()
