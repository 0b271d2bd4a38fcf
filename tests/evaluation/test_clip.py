"""ClipScorer on a tiny random CLIP saved to a folder, as a user's downloaded CLIP would be."""

import numpy as np
import pytest
import torch
from PIL import Image

from styledrop.errors import StyleDropError
from styledrop.evaluation.clip import ClipScorer
from styledrop.feedback.score import scorer_from_spec


@pytest.fixture()
def clip_folder(tmp_path):
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    from styledrop.testing import tiny_clip

    tokenizer = tiny_clip(8, tmp_path / "vocab").tokenizer
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                         num_attention_heads=1, max_position_embeddings=16, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id),
        vision_config=dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=1,
                           image_size=16, patch_size=8),
        projection_dim=8)
    folder = tmp_path / "clip"
    with torch.random.fork_rng(devices=[]):  # the same random CLIP whatever ran before
        torch.manual_seed(0)
        CLIPModel(config).save_pretrained(folder)
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 16},
                                                                 crop_size={"height": 16, "width": 16}),
                              tokenizer=tokenizer)
    processor.save_pretrained(folder)
    assert isinstance(tokenizer, CLIPTokenizer)
    return folder


def test_clip_scores_are_cosines_and_an_image_matches_itself(clip_folder):
    scorer = scorer_from_spec(f"clip:{clip_folder}")
    assert isinstance(scorer, ClipScorer)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)) for _ in range(3)]
    text = scorer.text_scores(images, ["a cow", "a red house in [V] style", "a cat"])
    style = scorer.style_scores(images, images[1])
    assert len(text) == len(style) == 3 and all(abs(v) <= 1 + 1e-5 for v in text + style)
    assert style[1] == pytest.approx(1.0, abs=1e-5)  # the reference against itself
    assert max(style[0], style[2]) < 1 - 1e-4  # other images are not it


def test_a_folder_without_clip_is_one_line(tmp_path):
    with pytest.raises(StyleDropError, match="not a CLIP model folder"):
        ClipScorer(tmp_path)
