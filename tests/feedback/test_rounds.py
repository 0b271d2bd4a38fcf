"""Round 2 on a tiny base: the pool manifest, the selection policies, and the lineage."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from styledrop.adapters.io import load_adapter_file
from styledrop.errors import StyleDropError
from styledrop.feedback.manifest import PoolImage, read_manifest, set_pick, write_manifest
from styledrop.feedback.pool import default_prompts, make_pool
from styledrop.feedback.rounds import RoundConfig, run_round, train_round
from styledrop.feedback.score import score_pool
from styledrop.feedback.select import choose, select_pool
from styledrop.generation import generate_to_folder
from styledrop.pipeline import SampleConfig
from styledrop.training.loop import TrainConfig, train_adapter


class PixelScorer:
    """A deterministic stand-in for CLIP: scores from mean colours (the pool code only needs the interface)."""

    def __init__(self):
        self.read = []  # the prompts the text score was asked about

    def text_scores(self, images, prompts):
        self.read += prompts
        return [float(np.asarray(i, np.float32).mean() / 255) + 0.01 * len(p) for i, p in zip(images, prompts)]

    def style_scores(self, images, reference):
        ref = np.asarray(reference, np.float32).mean((0, 1))
        return [float(-np.abs(np.asarray(i, np.float32).mean((0, 1)) - ref).mean() / 255) for i in images]


@pytest.fixture()
def round1(tiny_base, tmp_path):
    size = tiny_base.resolution
    reference = tmp_path / "ref.png"
    Image.fromarray(np.full((size, size, 3), (200, 40, 40), np.uint8)).save(reference)
    pixels = torch.tensor(np.asarray(Image.open(reference)), dtype=torch.float32).permute(2, 0, 1)[None] / 255
    train_adapter(tiny_base, pixels, ["A watermelon in [V] style"], TrainConfig(steps=2, lr=1e-2),
                  tmp_path / "r1.safetensors", style_descriptor="[V]", show_progress=False)
    return tmp_path / "r1.safetensors", reference


def test_default_prompts_leave_out_the_reference_content():
    prompts = default_prompts(5, "[V]", ["A cow in [V] style"])
    assert len(prompts) == 5 and not any("cow" in p for p in prompts) and all(p.endswith("[V] style") for p in prompts)
    assert {"An apple in [V] style", "A dog in [V] style"} <= set(default_prompts(12, "[V]", []))


def test_pool_manifest_round_trip_and_exact_regeneration(tiny_base, round1, tmp_path):
    adapter, reference = round1
    prompts = ["A cow in [V] style", "A piano in [V] style"]
    images = make_pool(tiny_base, adapter, reference, prompts, 3, SampleConfig(steps=3, seed=10), tmp_path / "pool",
                       show_progress=False)
    assert [i.id for i in images] == [f"p{p:03d}-i{j:03d}" for p in range(2) for j in range(3)]
    assert read_manifest(tmp_path / "pool") == images
    info = json.loads((tmp_path / "pool" / "pool.json").read_text())
    assert info["round"] == 1 and info["adapter"]["hash"] == load_adapter_file(adapter).content_hash()

    # any image of the pool can be drawn again from its record
    image = images[4]
    again = generate_to_folder(tiny_base, [image.prompt], SampleConfig(steps=3, seed=image.seed), tmp_path / "again",
                               style=load_adapter_file(adapter), show_progress=False)
    assert np.array_equal(np.asarray(again[0].image), np.asarray(Image.open(tmp_path / "pool" / image.file)))


def test_the_adapter_records_its_reference_and_the_pool_defaults_to_it(tiny_base, round1, tmp_path):
    adapter, reference = round1
    recorded = load_adapter_file(adapter).reference_image()
    assert np.array_equal(np.asarray(recorded), np.asarray(Image.open(reference).convert("RGB")))  # pixel for pixel
    make_pool(tiny_base, adapter, None, ["A cow in [V] style"], 1, SampleConfig(steps=2), tmp_path / "pool",
              show_progress=False)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "pool" / "reference.png")), np.asarray(recorded))
    info = json.loads((tmp_path / "pool" / "pool.json").read_text())
    assert info["reference_source"] == f"{adapter} (recorded in training)"


def test_score_select_and_train_round2_with_lineage(tiny_base, round1, tmp_path):
    adapter, reference = round1
    pool = tmp_path / "pool"
    make_pool(tiny_base, adapter, reference, ["A cow in [V] style", "A pig in [V] style"], 3,
              SampleConfig(steps=3), pool, show_progress=False)
    with pytest.raises(StyleDropError, match="feedback score"):
        select_pool(pool, "clip")
    scorer = PixelScorer()
    score_pool(pool, scorer)
    assert all({"text", "style"} <= set(i.scores) for i in read_manifest(pool))
    assert sorted(set(scorer.read)) == ["A cow", "A pig"]  # the text score reads what is drawn, not the style words
    kept = select_pool(pool, "clip")
    assert len(kept) == 2 and {k.prompt for k in kept} == {"A cow in [V] style", "A pig in [V] style"}

    result = train_round(tiny_base, pool, "clip", tmp_path / "r2.safetensors", RoundConfig(steps=2, lr=1e-2),
                         show_progress=False)
    saved = load_adapter_file(tmp_path / "r2.safetensors")
    # round 1's reference, not the first selected image: a round-3 pool drawn from r2 defaults to it too
    assert np.array_equal(np.asarray(saved.reference_image()), np.asarray(Image.open(reference).convert("RGB")))
    assert saved.config.rank == 32 and not saved.config.shared
    assert saved.lineage == {"round": 2, "parent_hash": load_adapter_file(adapter).content_hash(), "policy": "clip",
                             "selected": 2, "pool_images": 6, "prompts": 2, "reference_included": True}
    assert sorted(saved.captions) == sorted([k.prompt for k in kept] + ["A watermelon in [V] style"])
    assert result.adapter.lineage["round"] == 2


def test_run_round_chains_the_round_and_shares_one_pool_between_policies(tiny_base, round1, tmp_path):
    adapter, reference = round1
    pool, prompts, sampler = tmp_path / "pool", ["A cow in [V] style", "A pig in [V] style"], SampleConfig(steps=3)
    first = run_round(tiny_base, adapter, pool, prompts, 3, sampler, PixelScorer(), "clip", tmp_path / "clip.safetensors",
                      RoundConfig(steps=2, lr=1e-2), reference=reference, show_progress=False)
    assert first.adapter.lineage["policy"] == "clip" and first.adapter.lineage["pool_images"] == 6
    drawn = read_manifest(pool)
    assert all({"text", "style"} <= set(i.scores) for i in drawn)
    second = run_round(tiny_base, adapter, pool, prompts, 3, sampler, PixelScorer(), "random",
                       tmp_path / "random.safetensors", RoundConfig(steps=2, lr=1e-2), show_progress=False)
    assert [i.file for i in read_manifest(pool)] == [i.file for i in drawn]  # the same pool, not drawn again
    assert second.adapter.lineage["policy"] == "random"
    assert {"clip", "random"} <= {p for i in read_manifest(pool) for p in i.selected_by}

    other = tmp_path / "other.safetensors"
    train_adapter(tiny_base, torch.rand(1, 3, tiny_base.resolution, tiny_base.resolution), ["A cat in [V] style"],
                  TrainConfig(steps=1, lr=1e-2), other, style_descriptor="[V]", show_progress=False)
    with pytest.raises(StyleDropError, match="drawn by another adapter"):
        run_round(tiny_base, other, pool, prompts, 3, sampler, PixelScorer(), "clip", tmp_path / "x.safetensors",
                  show_progress=False)


def synthetic(scores):
    return [PoolImage(id=f"p{p}-i{i}", prompt=f"prompt {p}", seed=i, file="x.png", scores=dict(text=t, style=s))
            for p, group in enumerate(scores) for i, (t, s) in enumerate(group)]


def test_policies():
    images = synthetic([[(0.1, 0.9), (0.5, 0.1), (0.3, 0.8)], [(0.2, 0.2), (0.4, 0.3), (0.1, 0.95)]])
    assert [i.id for i in choose(images, "clip")] == ["p0-i1", "p1-i1"]
    # style floor at the median (0.55): prompt 0 keeps i0/i2 -> i2; prompt 1 keeps only i2
    assert [i.id for i in choose(images, "clip+style", style_quantile=0.5)] == ["p0-i2", "p1-i2"]
    first, again = choose(images, "random", seed=3), choose(images, "random", seed=3)
    assert first == again and sorted({i.prompt for i in first}) == ["prompt 0", "prompt 1"]
    with pytest.raises(StyleDropError):
        choose(images, "best")


def test_rerunning_a_policy_replaces_only_its_own_marks(tmp_path):
    images = synthetic([[(0.1, 0.9), (0.5, 0.1)], [(0.2, 0.2), (0.4, 0.3)]])
    write_manifest(tmp_path, images)
    set_pick(tmp_path, "p0-i0", True)
    select_pool(tmp_path, "random", seed=0)
    select_pool(tmp_path, "random", seed=1)
    marks = {i.id: i.selected_by for i in read_manifest(tmp_path)}
    assert sum("random" in m for m in marks.values()) == 2 and "human" in marks["p0-i0"]
