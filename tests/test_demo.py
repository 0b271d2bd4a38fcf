"""The demo end to end on a tiny random base (the bundled one takes minutes): files, table, overrides."""

import json

from PIL import Image

from styledrop.cli import main
from styledrop.demo import CONTENTS, TRAIN


def test_demo_writes_grid_and_scores_with_the_settings_it_ran(tmp_path, tiny_base_dir, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--base", str(tiny_base_dir), "--train-steps", "2", "--lr", "3e-4",
            "--style-scale", "1.5", "--content-scale", "2"]
    assert main(argv) == 0
    scores = json.loads((out / "scores.json").read_text())
    assert scores["settings"]["train"]["steps"] == 2 and scores["settings"]["train"]["lr"] == 3e-4
    assert scores["settings"]["train"]["rank"] == TRAIN.rank  # what was not overridden stays
    assert scores["settings"]["sample"]["style_scale"] == 1.5 and scores["settings"]["sample"]["content_scale"] == 2
    for row in ("base", "styledrop"):
        assert 0.0 <= scores[row]["style_accuracy"] <= 1.0 and 0.0 <= scores[row]["content_leakage"] <= 1.0
        assert len(json.loads((out / row / "generation.json").read_text())["images"]) == 2 * len(CONTENTS)
    grid = Image.open(out / "grid.png")
    assert grid.width > grid.height > 2 * 96  # two rows of 1 + 8 cells, and a label strip
    assert "| styledrop" in capsys.readouterr().out
