"""The patch k-means tokenizer: exact on few-colour images, shapes, save/load."""

import torch

from styledrop.base.patch_tokenizer import PatchKMeansTokenizer, from_patches, psnr, to_patches


def flat_images(count=6, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    palette = torch.tensor([[1.0, 1.0, 1.0], [0.9, 0.1, 0.1], [0.1, 0.2, 0.8], [0.0, 0.0, 0.0]])
    images = torch.ones(count, 3, size, size)
    for i in range(count):
        y, x = torch.randint(0, size // 2, (2,), generator=g).tolist()
        images[i, :, 2 * y : 2 * y + 8, 2 * x : 2 * x + 8] = palette[1 + i % 3][:, None, None]
    return images


def test_patches_round_trip():
    images = torch.rand(2, 3, 8, 12)
    assert torch.equal(from_patches(to_patches(images, 2), 2), images)
    assert to_patches(images, 2).shape == (2, 4, 6, 12)


def test_fit_reconstructs_flat_colour_images_exactly_and_round_trips(tmp_path):
    images = flat_images()
    tokenizer = PatchKMeansTokenizer.fit(images, patch=2, codes=8, generator=torch.Generator().manual_seed(0))
    ids = tokenizer.encode(images)
    assert ids.shape == (6, 8, 8) and ids.max() < 8
    assert psnr(tokenizer.decode(ids), images) > 40  # patches are single colours: 4 codes suffice
    tokenizer.save(tmp_path / "vq")
    again = PatchKMeansTokenizer.load(tmp_path / "vq")
    assert torch.equal(again.encode(images), ids) and again.downscale == 2 and again.codebook_size == 8
