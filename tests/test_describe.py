"""`styledrop describe`: ranking candidate style words by the base's loss on a style image."""

import json

import pytest
import torch
from PIL import Image

from styledrop import bundled
from styledrop.base import load_base
from styledrop.cli import main
from styledrop.describe import base_style_words, rank_descriptors, write_style_words
from styledrop.errors import StyleDropError
from styledrop.images import image_to_tensor, load_image, to_square


def test_ranking_is_sorted_deterministic_and_blind_to_a_repeated_candidate(tiny_base):
    image = torch.rand(3, tiny_base.resolution, tiny_base.resolution, generator=torch.Generator().manual_seed(0))
    words = ["watercolor painting", "flat cartoon", "watercolor painting", "[V]"]
    readings = rank_descriptors(tiny_base, image, "watermelon", words)
    assert sorted(r.descriptor for r in readings) == sorted(words)
    assert [r.loss for r in readings] == sorted(r.loss for r in readings)
    twins = [r.loss for r in readings if r.descriptor == "watercolor painting"]
    assert twins[0] == twins[1]  # the same caption over the same masks
    assert readings == rank_descriptors(tiny_base, image, "watermelon", words)
    with pytest.raises(StyleDropError, match="no candidate"):
        rank_descriptors(tiny_base, image, "watermelon", [])


def test_style_words_file_round_trips_and_a_broken_one_is_named(tmp_path):
    assert base_style_words(tmp_path) == []
    write_style_words(tmp_path, ["noto", "noto outlined"])
    assert base_style_words(tmp_path) == ["noto", "noto outlined"]
    (tmp_path / "styles.json").write_text(json.dumps({"descriptors": ["noto", ""]}))
    with pytest.raises(StyleDropError, match="styles.json"):
        base_style_words(tmp_path)


def test_describe_prints_the_ranking_and_a_caption(tiny_base_dir, tmp_path, capsys):
    png = tmp_path / "style.png"
    Image.new("RGB", (32, 32), (200, 30, 30)).save(png)
    code = main(["describe", "--base", str(tiny_base_dir), "--image", str(png), "--content", "watermelon",
                 "--candidates", "flat cartoon", "line art", "--top", "1"])
    out = capsys.readouterr().out
    assert code == 0 and out.count("\n| ") == 1 and "suggested caption: --caption 'A watermelon in " in out
    out = tmp_path / "looks"
    assert main(["describe", "--base", str(tiny_base_dir), "--image", str(png), "--content", "watermelon",
                 "--candidates", "flat cartoon", "line art", "--out", str(out)]) == 0
    grid = Image.open(out / "grid.png")
    assert grid.height < grid.width < 3 * grid.height  # two rows (one per style words) of three cells, and labels
    capsys.readouterr()
    assert main(["describe", "--base", str(tiny_base_dir), "--image", str(png), "--content", "watermelon"]) == 2
    assert "lists no style words" in capsys.readouterr().err


@pytest.mark.skipif(not (bundled.EMOJI_BASE / "styles.json").is_file() or not bundled.DEMO_REFERENCE.is_file(),
                    reason="installed without the bundled models")
def test_the_bundled_base_reads_outlines_in_the_demo_reference():
    """Measured: 'outlined' 4.34 nats, every plain set name 9.8-13.4 (a variant word is what OpenMoji's
    thick outlines look like to a base that never saw OpenMoji)."""
    base = load_base(bundled.EMOJI_BASE)
    image = image_to_tensor(to_square(load_image(bundled.DEMO_REFERENCE), base.resolution))
    plain = ["noto", "twemoji", "fluent flat", "fluent modern"]
    readings = rank_descriptors(base, image, "watermelon", base_style_words(bundled.EMOJI_BASE))
    assert readings[0].descriptor not in plain
    best_plain = min(r.loss for r in readings if r.descriptor in plain)
    assert readings[0].loss < best_plain - 2.0, readings[:3]
