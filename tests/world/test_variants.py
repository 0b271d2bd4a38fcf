"""Procedural style variants: they keep the drawing's shape, draw lines where colours meet, and
leave the background white."""

import numpy as np
import pytest
from PIL import Image

from styledrop.world.variants import INK, VARIANTS, object_mask, outlined, posterized, render_variant, silhouette


def ring_drawing() -> np.ndarray:
    """A 32 px red disc with a white hole in the middle and a blue square inside the red, on white."""
    yy, xx = np.mgrid[:32, :32]
    r = np.hypot(yy - 16, xx - 16)
    image = np.full((32, 32, 3), 255, dtype=np.uint8)
    image[r < 12] = (220, 40, 40)
    image[r < 4] = (255, 255, 255)  # white inside the drawing: not background
    image[5:9, 14:18] = (40, 40, 220)
    return image


def test_object_mask_keeps_white_inside_the_drawing_and_drops_the_border_white():
    mask = object_mask(ring_drawing())
    assert mask[16, 16] and mask[16, 6]  # the hole and the red ring
    assert not mask[0, 0] and not mask[31, 16]


def test_outlined_draws_ink_on_the_rim_and_between_colours_and_keeps_the_background_white():
    image = ring_drawing()
    out = outlined(image)
    assert (out[16, 4] == INK).all()  # the disc's rim (radius 12)
    assert (out[9, 16] == INK).all() or (out[10, 16] == INK).all()  # below the blue square
    assert (out[0:2].reshape(-1, 3) == 255).all()  # background untouched
    assert tuple(out[16, 9]) == (220, 40, 40)  # flat fill survives between the lines


def test_silhouette_is_dark_inside_and_white_outside():
    out = silhouette(ring_drawing())
    assert (out[16, 7] == INK).all() and (out[0, 0] == 255).all()


def test_posterized_uses_four_levels_and_keeps_white():
    out = posterized(np.array([[[255, 250, 10], [100, 130, 200]]], dtype=np.uint8))
    assert set(np.unique(out)) <= {0, 85, 170, 255}
    assert tuple(out[0, 0]) == (255, 255, 0)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_renders_at_the_asked_size(variant):
    image = Image.fromarray(ring_drawing()).resize((64, 64))
    out = render_variant(image, variant, 32)
    assert out.size == (32, 32) and out.mode == "RGB"
    assert np.asarray(out)[0, 0].min() > 240  # the corner is still background


def test_unknown_variant_is_named():
    with pytest.raises(KeyError, match="watercolour"):
        render_variant(Image.new("RGB", (8, 8), "white"), "watercolour", 8)
