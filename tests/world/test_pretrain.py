"""Pretraining the emoji-world base on a fake dataset: it runs, resumes exactly, and the result
loads as a base that samples."""

import torch
from safetensors.torch import load_file

from styledrop.base import load_base
from styledrop.pipeline import SampleConfig, StyleDropPipeline
from styledrop.world.pretrain import PretrainConfig, caption_variants, pretrain_base

from .test_emoji_dataset import build

TINY = dict(resolution=32, patch=4, codes=8, kmeans_iterations=3, hidden=16, layers=1, heads=1, block_channels=8,
            batch_size=4, warmup=2, checkpoint_every=2, threads=1)


def test_pretrain_resumes_exactly_and_makes_a_base(tmp_path, fake_packages):
    data = tmp_path / "emoji"
    build(data, fake_packages)
    straight = pretrain_base(data, tmp_path / "a", tmp_path / "a-base", PretrainConfig(steps=4, **TINY),
                             show_progress=False)
    assert straight["steps"] == 4
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=2, **TINY), show_progress=False)
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=4, **TINY), show_progress=False)
    a = load_file(str(tmp_path / "a" / "transformer.ckpt.safetensors"))
    b = load_file(str(tmp_path / "b" / "transformer.ckpt.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("weights/"))

    base = load_base(tmp_path / "a-base")
    assert base.text_encoder.kind == "minilm" and base.resolution == 32 and base.grid == (8, 8)
    assert base.transformer.dtype == torch.float32  # stored fp16, computed in fp32 on CPU
    assert base.position is not None and base.position.table.shape == (1, 8, 8, 8)
    tokens = StyleDropPipeline(base).sample_tokens(["A cow"], [0], SampleConfig(steps=3))
    assert tokens.shape == (1, 8, 8) and tokens.max() < 8


def test_caption_variants_use_the_style_words_and_plain_nouns():
    from styledrop.world.manifest import ManifestRecord

    record = ManifestRecord(content_id="1f42e", name="cow face", caption="cow", synonyms=("cattle",), category="animal",
                            style="fluent-flat", split="pretrain", paths={}, source_file="", package="", license="")
    styled, plain = caption_variants(record)
    assert styled == ["A cow in fluent flat style", "A cattle in fluent flat style"]
    assert plain == ["A cow", "A cattle"]
