"""The scorer network and its folder: shapes, unit norms, save/load round trip, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from styledrop.errors import StyleDropError
from styledrop.evaluation.labels import load_labels
from styledrop.evaluation.model import SIZES, scorer_config
from styledrop.evaluation.weights import load_scorer, save_scorer


def test_forward_shapes_and_unit_embeddings(tiny_model, tiny_labels):
    model = tiny_model()
    size = model.config.image_size
    out = model(torch.rand(3, 3, size, size))
    assert out.embedding.shape == (3, model.config.embed_dim)
    assert out.style_logits.shape == (3, len(tiny_labels.styles))
    assert out.content_logits.shape == (3, len(tiny_labels.contents))
    assert torch.allclose(out.embedding.norm(dim=1), torch.ones(3), atol=1e-5)
    text = model.embed_text(torch.randn(4, model.config.text_dim))
    assert torch.allclose(text.norm(dim=1), torch.ones(4), atol=1e-5)


def test_save_load_round_trip(tmp_path, tiny_model, tiny_labels):
    model = tiny_model(seed=3)
    save_scorer(model, tiny_labels, tmp_path)
    loaded, labels = load_scorer(tmp_path)
    assert labels == tiny_labels
    assert loaded.config == model.config
    assert not loaded.training
    x = torch.rand(2, 3, model.config.image_size, model.config.image_size)
    with torch.no_grad():
        a, b = model(x), loaded(x)
    assert torch.allclose(a.content_logits, b.content_logits, atol=2e-3)  # fp16 on disk
    assert load_labels(tmp_path / "labels.json") == tiny_labels


def test_load_errors_name_the_file(tmp_path, tiny_model, tiny_labels):
    with pytest.raises(StyleDropError, match="no scorer in"):
        load_scorer(tmp_path / "nowhere")
    save_scorer(tiny_model(), tiny_labels, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "embed_dimm": 3}))
    with pytest.raises(StyleDropError, match="did you mean 'embed_dim'"):
        load_scorer(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "num_contents": 9}))
    with pytest.raises(StyleDropError, match="different runs"):
        load_scorer(tmp_path)


def test_named_sizes():
    assert set(SIZES) == {"tiny", "small"}
    config = scorer_config("small", num_styles=7, num_contents=411, text_dim=384)
    assert (config.num_styles, config.num_contents) == (7, 411)
    with pytest.raises(StyleDropError, match="choose from"):
        scorer_config("huge", num_styles=7, num_contents=411, text_dim=384)
