"""The evaluation split, the caption table and the augmentation."""

from __future__ import annotations

from collections import Counter

import torch

from styledrop.evaluation.captions import STYLE_FREE, caption_table, with_article
from styledrop.evaluation.data import Augment, augment, evaluation_pairs


def test_evaluation_pairs_hold_out_one_style_per_content_evenly():
    contents = [f"c{i}" for i in range(411)]
    styles = [f"s{i}" for i in range(7)]
    held = evaluation_pairs(contents, styles, seed=0)
    assert sorted(c for c, _ in held) == sorted(contents)  # every content once
    per_style = Counter(s for _, s in held)
    assert set(per_style.values()) <= {58, 59}  # 411 = 7 * 58 + 5
    assert evaluation_pairs(contents, styles, seed=0) == held
    assert evaluation_pairs(contents, styles, seed=1) != held


def test_caption_table_fits_by_content_and_style(tiny_labels):
    table = caption_table(tiny_labels)
    assert len(table.texts) == len(table.content) == len(table.style)
    assert "a cow in [V] style" in table.texts
    assert "a cow in Outline style" in table.texts
    content = torch.tensor([0, 0])
    style = torch.tensor([1, STYLE_FREE])  # an outline cow, and a cow view of unknown style
    fits = table.fits(content, style)  # (2, T)
    for t, text in enumerate(table.texts):
        is_cow = table.content[t] == 0
        free = table.style[t] == STYLE_FREE
        assert fits[0, t] == (is_cow and (free or table.style[t] == 1)), text
        assert fits[1, t] == (is_cow and free), text
    assert with_article("apple") == "an apple" and with_article("cherries") == "cherries"


def test_augment_keeps_shape_range_and_is_seeded():
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    a, style_a = augment(images, Augment(), torch.Generator().manual_seed(0))
    b, style_b = augment(images, Augment(), torch.Generator().manual_seed(0))
    assert a.shape == (8, 3, 16, 16) and a.dtype == torch.float32 and style_a.shape == (8,)
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0
    assert torch.equal(a, b) and torch.equal(style_a, style_b)
    c, _ = augment(images, Augment(), torch.Generator().manual_seed(1))
    assert not torch.equal(a, c)


def test_style_views_move_pixels_without_changing_them():
    red = torch.zeros(4, 3, 16, 16, dtype=torch.uint8)
    red[:, 0] = 200
    settings = Augment(content_view_prob=0.0, max_pixel_shift=3, half_resolution_prob=0.0)
    out, keeps_style = augment(red, settings, torch.Generator().manual_seed(0))
    assert keeps_style.all()
    pixels = {tuple(p) for p in (out * 255).round().permute(0, 2, 3, 1).reshape(-1, 3).tolist()}
    assert pixels <= {(200.0, 0.0, 0.0), (255.0, 255.0, 255.0)}  # the colour, or white border


def test_content_views_carry_no_style_and_redraw_in_grey():
    images = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8)
    settings = Augment(content_view_prob=1.0, gray_prob=1.0, silhouette_prob=0.0,
                       outline_prob=0.0, channel_shuffle_prob=0.0)
    out, keeps_style = augment(images, settings, torch.Generator().manual_seed(0))
    assert not keeps_style.any()
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])


def test_content_views_pad_with_white():
    white = torch.full((2, 3, 16, 16), 255, dtype=torch.uint8)
    settings = Augment(content_view_prob=1.0, scale=(0.5, 0.5), contrast=0.0, saturation=0.0,
                       gray_prob=0.0, silhouette_prob=0.0, outline_prob=0.0,
                       half_resolution_prob=1.0)
    out, _ = augment(white, settings, torch.Generator().manual_seed(0))
    assert torch.allclose(out, torch.ones_like(out), atol=1e-5)
