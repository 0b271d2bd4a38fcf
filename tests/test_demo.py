"""The demo end to end on a tiny random base (the bundled one takes minutes): files, table, overrides."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from styledrop import demo
from styledrop.adapters.io import load_adapter_file
from styledrop.base.patch_tokenizer import PatchKMeansTokenizer
from styledrop.cli import main
from styledrop.demo import CONTENTS, REFERENCE_STYLE, TRAIN, realism
from styledrop.images import image_to_tensor
from styledrop.world.manifest import ManifestRecord, write_manifest


def test_demo_writes_grid_and_scores_with_the_settings_it_ran(tmp_path, tiny_base_dir, capsys, monkeypatch):
    monkeypatch.setattr(demo, "DEFAULT_DATA", tmp_path / "no-dataset")  # offline and without the dataset
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--base", str(tiny_base_dir), "--train-steps", "2", "--lr", "3e-4",
            "--style-scale", "1.5", "--content-scale", "2", "--descriptor", "flat outlined", "--decode-steps", "3",
            "--token-temperature", "0.7", "--negative-prompt", "A watermelon in flat outlined style"]
    assert main(argv) == 0
    scores = json.loads((out / "scores.json").read_text())
    assert scores["settings"]["train"]["steps"] == 2 and scores["settings"]["train"]["lr"] == 3e-4
    assert scores["settings"]["train"]["rank"] == TRAIN.rank  # what was not overridden stays
    assert scores["settings"]["sample"]["style_scale"] == 1.5 and scores["settings"]["sample"]["content_scale"] == 2
    assert scores["settings"]["descriptor"] == "flat outlined"
    assert scores["settings"]["sample"]["steps"] == 3 and scores["settings"]["sample"]["token_temperature"] == 0.7
    assert scores["settings"]["sample"]["negative_prompt"] == "A watermelon in flat outlined style"
    adapter = load_adapter_file(out / "adapter.safetensors")
    assert adapter.captions == ["A watermelon in flat outlined style"] and adapter.style_descriptor == "flat outlined"
    for row in ("base", "styledrop"):
        drawn = json.loads((out / row / "generation.json").read_text())["images"]
        assert len(drawn) == 2 * len(CONTENTS) == scores[row]["images"]
        assert {d["prompt"] for d in drawn} == ({f"A {c}" for c in CONTENTS} if row == "base"
                                                 else {f"A {c} in flat outlined style" for c in CONTENTS})
        # the row's figures are the counts of what the scorers read, image by image
        assert sum(scores[row]["predicted_styles"].values()) == scores[row]["images"]
        in_style = scores[row]["predicted_styles"].get(REFERENCE_STYLE, 0) / scores[row]["images"]
        assert scores[row]["style_accuracy"] == round(in_style, 4)
        assert scores[row]["content_accuracy"] <= scores[row]["content_accuracy_top5"] <= 1.0
        assert 0.0 <= scores[row]["content_leakage"] <= 1.0
    assert not (out / "adapter.ckpt.safetensors").exists()  # the finished run removed its resume checkpoint
    grid = Image.open(out / "grid.png")
    assert grid.width > grid.height > 2 * 96  # two rows of 1 + 8 cells, and a label strip
    assert scores["kid"]["absent"].startswith(f"no dataset at {tmp_path / 'no-dataset'}")  # says why, runs on
    printed = capsys.readouterr().out
    assert "| styledrop" in printed and "KID to real openmoji-color images: absent (no dataset at" in printed


def test_a_blank_descriptor_is_refused_before_any_work(tmp_path, tiny_base_dir, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--base", str(tiny_base_dir), "--descriptor", "  "]) == 2
    assert "--descriptor is empty" in capsys.readouterr().err and not out.exists()


def test_demo_kid_compares_both_rows_to_the_real_images_of_the_reference_style(tmp_path):
    records = []
    for i, colour in enumerate(["red", "green", "blue", "orange", "purple", "black", "gray", "pink"]):
        Image.new("RGB", (32, 32), colour).save(tmp_path / f"{i}.png")
        records.append(ManifestRecord(content_id=str(i), name=colour, caption=colour, synonyms=(), category="object",
                                      style=REFERENCE_STYLE, split="heldout_style", paths={32: Path(f"{i}.png")},
                                      source_file="", package="test@0", license="CC-BY-SA-4.0"))
    write_manifest(tmp_path, records)
    out = tmp_path / "demo"
    for row, colour in (("base", "white"), ("styledrop", "red")):
        (out / row).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (32, 32), colour).save(out / row / f"{i}.png")
        listed = [{"file": f"{i}.png", "prompt": "A cow"} for i in range(4)]
        (out / row / "generation.json").write_text(json.dumps({"images": listed}))
    entry = realism(out, tmp_path, 32, "cpu", contents=["red", "green"] * 2)
    assert (entry["real_images"], entry["size"], entry["data"]) == (8, 32, str(tmp_path))
    assert entry["real_contents"]["sizes"] == [4, 8] and "tokenized_contents" not in entry  # no tokenizer given
    for row in ("base", "styledrop", "real_floor", "real_contents"):
        assert entry[row]["standard_error"] >= 0 and entry[row]["subsets"] == 100
    assert entry["base"]["sizes"] == [4, 8] and entry["real_floor"]["sizes"] == [4, 4]
    # a tokenizer whose codes are the eight flat colours gives the reals back: the same KID
    pixels = torch.stack([image_to_tensor(Image.open(tmp_path / f"{i}.png").convert("RGB")) for i in range(8)])
    exact = PatchKMeansTokenizer.fit(pixels, 2, 8, torch.Generator().manual_seed(0), 10)
    with_tokens = realism(out, tmp_path, 32, "cpu", contents=["red", "green"] * 2, tokenizer=exact)
    assert with_tokens["tokenized_contents"]["value"] == pytest.approx(with_tokens["real_contents"]["value"], abs=1e-4)
