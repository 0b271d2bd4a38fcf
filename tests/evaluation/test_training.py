"""Training on a synthetic on-disk dataset (no data/emoji): a folder comes out, resume is exact."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from styledrop.errors import StyleDropError
from styledrop.evaluation.data import Augment, load_scorer_data
from styledrop.evaluation.scorers import Scorers
from styledrop.evaluation.training import ScorerTrainSettings, train_scorers
from styledrop.world.manifest import ManifestRecord, write_manifest

STYLES = {"noto": (220, 60, 60), "twemoji": (60, 60, 220), "openmoji-black": (0, 0, 0)}
CONTENTS = [("1f404", "cow"), ("1f415", "dog"), ("1f32d", "hot dog"), ("1f34e", "apple")]
SIZE = 16  # the "tiny" scorer's input


def _draw(content: int, color: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), "white")
    draw = ImageDraw.Draw(image)
    box = (3, 3, 12, 12)
    [draw.rectangle, draw.ellipse, draw.line, draw.polygon][content](
        [(3, 12), (8, 3), (12, 12)] if content == 3 else box, fill=color
    )
    return image


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("emoji")
    records = []
    for style, color in STYLES.items():
        for c, (content_id, caption) in enumerate(CONTENTS):
            rel = Path("images") / str(SIZE) / style / f"{content_id}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            _draw(c, color).save(root / rel)
            records.append(ManifestRecord(
                content_id, caption, caption, (), "thing", style, "pretrain", {SIZE: rel},
                f"{content_id}.png", "fixture@0", "CC0-1.0",
            ))
    write_manifest(root, records)
    return root


SETTINGS = ScorerTrainSettings(
    size="tiny", steps=12, batch_size=6, warmup_steps=2, checkpoint_every=5, eval_every=100,
    augment=Augment(content_view_prob=0.5),
)


def test_data_flags_one_held_out_image_per_content(dataset):
    data = load_scorer_data(dataset, SIZE, eval_seed=0)
    assert data.images.shape == (12, 3, SIZE, SIZE) and data.images.dtype == torch.uint8
    assert int(data.is_eval.sum()) == len(CONTENTS)
    assert sorted(data.content[data.is_eval].tolist()) == list(range(len(CONTENTS)))
    assert data.labels.style_ids == ["noto", "twemoji", "openmoji-black"]  # STYLE_SETS order
    with pytest.raises(StyleDropError, match="--sizes 32"):
        load_scorer_data(dataset, 32, eval_seed=0)


def test_training_writes_a_scorer_folder_and_resumes_exactly(dataset, tmp_path, stub_encoder):
    whole = tmp_path / "whole"
    metrics = train_scorers(dataset, whole, SETTINGS, text_encoder=stub_encoder, log=lambda _: None)
    assert metrics["overall"]["n"] == len(CONTENTS)
    assert 0.0 <= metrics["overall"]["content_top1"] <= 1.0
    assert set(metrics["per_style"]) == set(STYLES)
    for name in ("model.safetensors", "config.json", "labels.json", "metrics.json"):
        assert (whole / name).is_file()
    scorers = Scorers.load(whole, text_encoder=stub_encoder)
    assert len(scorers.classify_content([_draw(0, (0, 0, 0))], k=2)[0]) == 2

    class Interrupt(Exception):
        pass

    def stop_at_ten(message: str) -> None:
        if message.startswith("step 10/"):  # after the checkpoint of step 5, before step 10's
            raise Interrupt

    halves = tmp_path / "halves"
    with pytest.raises(Interrupt):
        train_scorers(dataset, halves, SETTINGS, text_encoder=stub_encoder, log=stop_at_ten)
    lines: list[str] = []
    train_scorers(dataset, halves, SETTINGS, text_encoder=stub_encoder, log=lines.append)
    assert any("resumed from" in line and "step 5" in line for line in lines)
    a = Scorers.load(whole).model.state_dict()
    b = Scorers.load(halves).model.state_dict()
    assert all(torch.equal(a[name], b[name]) for name in a)

    with pytest.raises(StyleDropError, match="other settings"):
        train_scorers(dataset, halves, replace(SETTINGS, lr=1.0), text_encoder=stub_encoder,
                      log=lambda _: None)
