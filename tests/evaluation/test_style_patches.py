"""The patch style classifier: reads only painted patches, learns a texture that whole-image
shapes do not give away, saves and loads safely, and joins the scorer's style verdict."""

from __future__ import annotations

import pytest
import torch

from styledrop.errors import StyleDropError
from styledrop.evaluation.scorers import Scorers
from styledrop.evaluation.style_experts import load_style_experts
from styledrop.evaluation.style_patches import (
    FILE_NAME,
    PatchStyleConfig,
    PatchStyleNet,
    fit_patch_style,
    grid_patches,
    load_patch_classifier,
    paint_share,
    random_patches,
    save_patch_classifier,
)

TINY = PatchStyleConfig(num_styles=2, image_size=24, patch=8, stride=4, width=4)


def shapes(texture: str, count: int, generator: torch.Generator) -> torch.Tensor:
    """(count, 3, 24, 24) random rectangles on white, filled flat or with 1-pixel stripes: the
    same shapes in both styles, so only the texture inside a patch tells them apart."""
    out = torch.ones(count, 3, 24, 24)
    for i in range(count):
        top, left = torch.randint(1, 8, (2,), generator=generator).tolist()
        h, w = torch.randint(10, 16, (2,), generator=generator).tolist()
        colour = torch.rand(3, 1, 1, generator=generator) * 0.4 + 0.3
        out[i, :, top:top + h, left:left + w] = colour
        if texture == "striped":
            out[i, :, top:top + h:2, left:left + w] = colour * 0.5
    return out


def test_grid_patches_cover_the_image_in_order():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float).view(2, 3, 8, 8)
    patches = grid_patches(images, patch=4, stride=4)  # (2, 4, 3, 4, 4)
    assert patches.shape == (2, 4, 3, 4, 4)
    assert torch.equal(patches[1, 0], images[1, :, :4, :4])
    assert torch.equal(patches[1, 1], images[1, :, :4, 4:])  # row-major: the next patch is to the right
    assert torch.equal(patches[0, 3], images[0, :, 4:, 4:])


def test_random_patches_hold_paint_and_name_their_image():
    g = torch.Generator().manual_seed(0)
    images = shapes("flat", 6, g)
    patches, rows = random_patches(images, 32, TINY, g)
    assert 0 < len(patches) <= 32 and patches.shape[1:] == (3, 8, 8)
    assert (paint_share(patches) >= TINY.min_paint).all()
    for patch, row in zip(patches, rows):  # each patch is a crop of the image it names
        found = grid_patches(images[row : row + 1], 8, 1)[0]  # every 8 x 8 crop of that image
        assert (found == patch).flatten(1).all(1).any()


def test_blank_areas_do_not_vote():
    with torch.random.fork_rng(devices=[]):  # the module draws its init from the global RNG: fix it
        torch.manual_seed(0)
        net = PatchStyleNet(TINY).eval()
    image = torch.ones(1, 3, 24, 24)
    image[..., 2:12, 2:12] = torch.tensor([0.8, 0.3, 0.2])[:, None, None]
    speck = image.clone()
    speck[..., 22, 22] = 0.0  # only the corner patch (rows and columns 16-23) holds it: 1 of 64 pixels
    with torch.no_grad():
        assert torch.allclose(net(image), net(speck))
        bigger = speck.clone()
        bigger[..., 16:24, 16:24] = 0.0  # a painted corner patch does vote
        assert not torch.allclose(net(image), net(bigger))
        blank = net(torch.ones(1, 3, 24, 24))  # no paint at all: still a distribution
    assert torch.isfinite(blank).all() and torch.allclose(blank.exp().sum(1), torch.ones(1))
    with pytest.raises(ValueError, match="24 px"):
        net(torch.ones(1, 3, 16, 16))


def test_it_learns_the_texture_and_round_trips(tmp_path):
    g = torch.Generator().manual_seed(2)
    images = torch.cat([shapes("flat", 24, g), shapes("striped", 24, g)])
    styles = torch.tensor([0] * 24 + [1] * 24)
    net = PatchStyleNet(TINY)
    losses = fit_patch_style(net, images, styles, torch.Generator().manual_seed(0), steps=120, batch_size=64,
                             lr=1e-2)
    assert sum(losses[-10:]) / 10 < losses[0] / 3
    held = torch.cat([shapes("flat", 5, g), shapes("striped", 5, g)])
    with torch.no_grad():
        assert net.eval()(held).argmax(1).tolist() == [0] * 5 + [1] * 5

    save_patch_classifier(net, tmp_path / FILE_NAME)
    loaded = load_patch_classifier(tmp_path / FILE_NAME, num_styles=2)
    assert loaded.config == TINY
    with torch.no_grad():  # stored in fp16: close, not equal
        assert torch.allclose(loaded(held), net(held), atol=2e-2)
    with pytest.raises(StyleDropError, match="refit"):
        load_patch_classifier(tmp_path / FILE_NAME, num_styles=3)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(StyleDropError, match="bad.safetensors"):
        load_patch_classifier(tmp_path / "bad.safetensors", num_styles=2)


def test_a_scorer_folder_with_a_patch_file_adds_its_opinion(tmp_path, scorers, random_images):
    from styledrop.evaluation.weights import save_scorer

    save_scorer(scorers.model, scorers.labels, tmp_path)
    assert Scorers.load(tmp_path).style_experts == {}
    size = scorers.image_size
    net = PatchStyleNet(PatchStyleConfig(num_styles=len(scorers.labels.styles), image_size=size, patch=8,
                                         stride=4, width=4)).eval()
    save_patch_classifier(net, tmp_path / FILE_NAME)
    assert set(load_style_experts(tmp_path, len(scorers.labels.styles))) == {"patches"}
    loaded = Scorers.load(tmp_path)
    images = random_images(3)
    alone = scorers.style_probabilities(images)
    with torch.no_grad():
        opinion = loaded.style_experts["patches"](loaded.to_tensor(images)).softmax(1)
    expected = alone * opinion
    assert torch.allclose(loaded.style_probabilities(images), expected / expected.sum(1, keepdim=True), atol=1e-3)
