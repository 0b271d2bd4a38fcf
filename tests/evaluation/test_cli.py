"""`styledrop score`: how images pair with prompts, and the handler end to end."""

from __future__ import annotations

import argparse
import json

import pytest
from PIL import Image

from styledrop.bundled import DEMO_REFERENCE
from styledrop.errors import StyleDropError
from styledrop.evaluation import scorers as scorers_module
from styledrop.evaluation.cli import collect_inputs, register
from styledrop.evaluation.weights import DEFAULT_SCORER_DIR, save_scorer


def _folder(tmp_path, random_images, names):
    folder = tmp_path / "images"
    folder.mkdir()
    for name, image in zip(names, random_images(len(names), size=24)):
        image.save(folder / name)
    return folder


def test_without_generation_json_images_are_in_natural_order(tmp_path, random_images):
    folder = _folder(tmp_path, random_images, ["img10.png", "img2.png", "img1.jpg"])
    (folder / "notes.txt").write_text("not an image")
    pairs = collect_inputs(folder, ["a cow"])
    assert [(p.name, q) for p, q in pairs] == [
        ("img1.jpg", "a cow"), ("img2.png", "a cow"), ("img10.png", "a cow")
    ]
    pairs = collect_inputs(folder, ["a", "b", "c"])
    assert [q for _, q in pairs] == ["a", "b", "c"]
    with pytest.raises(StyleDropError, match="2 prompts for 3 images"):
        collect_inputs(folder, ["a", "b"])
    with pytest.raises(StyleDropError, match="no prompts"):
        collect_inputs(folder, None)


def test_prompts_file_and_generation_json(tmp_path, random_images):
    folder = _folder(tmp_path, random_images, ["a.png", "b.png", "grid.png"])
    listing = {"images": [{"file": "b.png", "prompt": "A dog in [V] style", "seed": 1},
                          {"file": "a.png", "prompt": "A cow in [V] style", "seed": 2}]}
    (folder / "generation.json").write_text(json.dumps(listing))
    pairs = collect_inputs(folder, None)  # the listed files only (not grid.png), in its order
    assert [(p.name, q) for p, q in pairs] == [
        ("b.png", "A dog in [V] style"), ("a.png", "A cow in [V] style")
    ]
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# one per image\nA hot dog\n\nA mouse\n")
    assert [q for _, q in collect_inputs(folder, [str(prompts)])] == ["A hot dog", "A mouse"]
    (folder / "generation.json").write_text(json.dumps({"images": [{"file": "c.png",
                                                                     "prompt": "x"}]}))
    with pytest.raises(StyleDropError, match="missing files"):
        collect_inputs(folder, None)
    (folder / "generation.json").write_text(json.dumps({"pictures": []}))
    with pytest.raises(StyleDropError, match='no list under "images"'):
        collect_inputs(folder, None)


def _run(argv):
    parser = argparse.ArgumentParser(prog="styledrop")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _score(tmp_path, random_images, scorer_dir, capsys):
    folder = _folder(tmp_path, random_images, ["0.png", "1.png", "2.png"])
    reference = tmp_path / "reference.png"
    random_images(1, size=40, seed=9)[0].save(reference)
    out = tmp_path / "out" / "scores.json"
    argv = ["score", "--images", str(folder), "--reference", str(reference),
            "--prompts", "A cow in [V] style", "A mouse in [V] style", "A tree",
            "--reference-content", "dog", "--out", str(out)]
    if scorer_dir is not None:
        argv += ["--scorers", str(scorer_dir)]
    assert _run(argv) == 0
    printed = capsys.readouterr().out
    assert "mean text score" in printed and "leakage" in printed
    result = json.loads(out.read_text())
    rows = result["images"]
    assert [r["file"] for r in rows] == ["0.png", "1.png", "2.png"]
    for row in rows:
        assert -1 <= row["text_score"] <= 1 and -1 <= row["style_score"] <= 1
        assert 0 <= row["style_prob"] <= 1 and len(row["content_top5"]) == 5
    agg = result["aggregate"]
    assert agg["images"] == 3
    assert result["reference"] == {"file": str(reference), "content": "dog",
                                   "content_source": "flag", "content_prob": None}
    return rows, agg


def test_score_command_on_a_tiny_scorer(tmp_path, random_images, tiny_model, tiny_labels,
                                        stub_encoder, monkeypatch, capsys):
    save_scorer(tiny_model(), tiny_labels, tmp_path / "scorer")
    monkeypatch.setattr(scorers_module, "default_text_encoder", lambda: stub_encoder)
    rows, agg = _score(tmp_path, random_images, tmp_path / "scorer", capsys)
    assert [r["prompted_content"] for r in rows] == ["cow", "mouse", None]
    assert [r["content_correct"] is None for r in rows] == [False, False, True]
    assert agg["prompts_mapped_to_content"] == 2
    shows_dog = [r["content_top5"][0][0] == "dog" for r in rows[:2]]
    assert agg["leakage"] == pytest.approx(sum(shows_dog) / 2)


@pytest.mark.skipif(not (DEFAULT_SCORER_DIR / "model.safetensors").is_file() or not DEMO_REFERENCE.is_file(),
                    reason="no bundled scorer in models/scorers")
def test_score_command_with_the_bundled_scorer_reads_a_real_emoji(tmp_path, capsys):
    """The bundled scorers and the real MiniLM, through the command, on the demo's OpenMoji watermelon."""
    folder = tmp_path / "images"
    folder.mkdir()
    watermelon = Image.open(DEMO_REFERENCE).convert("RGB")
    watermelon.save(folder / "0.png")
    watermelon.save(folder / "1.png")
    out = tmp_path / "scores.json"
    assert _run(["score", "--images", str(folder), "--reference", str(DEMO_REFERENCE),
                 "--prompts", "A watermelon in [V] style", "A cow in [V] style", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    first, second = result["images"]
    assert first["content_top5"][0][0] == "watermelon" and first["style"] == "openmoji-color"
    assert first["content_correct"] and not second["content_correct"]  # the same image, asked for a cow
    assert first["text_score"] > second["text_score"]  # the caption that names it scores higher
    assert first["style_score"] == pytest.approx(1.0, abs=1e-4)  # the reference against itself
    assert result["reference"]["content"] == "watermelon" and result["reference"]["content_source"] == "classifier"
    assert result["aggregate"]["leakage"] == 1.0  # the one wrong image shows the reference's content
    assert "watermelon" in capsys.readouterr().out

    # from generation.json, the text score reads the prompts without the style adapter's words
    listing = {"adapters": {"style": {"style_descriptor": "fluent flat outlined"}},
               "images": [{"file": "0.png", "prompt": "A watermelon in fluent flat outlined style"},
                          {"file": "1.png", "prompt": "A cow in fluent flat outlined style"}]}
    (folder / "generation.json").write_text(json.dumps(listing))
    assert _run(["score", "--images", str(folder), "--reference", str(DEMO_REFERENCE), "--out", str(out)]) == 0
    recorded = [r["text_score"] for r in json.loads(out.read_text())["images"]]
    assert _run(["score", "--images", str(folder), "--reference", str(DEMO_REFERENCE),
                 "--prompts", "A watermelon", "A cow", "--out", str(out)]) == 0
    assert recorded == [r["text_score"] for r in json.loads(out.read_text())["images"]]
