"""Tiny scorers built from code: 3 styles, 5 contents, a few thousand parameters, no dataset."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from styledrop.evaluation.labels import ContentLabel, ScorerLabels, StyleLabel
from styledrop.evaluation.model import SIZES, ScorerNet, initialize
from styledrop.evaluation.scorers import Scorers

TEXT_DIM = SIZES["tiny"].text_dim


class StubTextEncoder:
    """A stand-in for MiniLM: a fixed random unit vector per prompt (hash-seeded)."""

    kind = "stub"

    def __init__(self, dim: int = TEXT_DIM):
        self.dim = dim
        self.calls = 0

    def encode(self, prompts: list[str]) -> SimpleNamespace:
        self.calls += 1
        rows = []
        for prompt in prompts:
            seed = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "little")
            rows.append(torch.randn(self.dim, generator=torch.Generator().manual_seed(seed)))
        pooled = torch.nn.functional.normalize(torch.stack(rows), dim=-1)
        return SimpleNamespace(pooled=pooled)


def _tiny_labels() -> ScorerLabels:
    styles = tuple(StyleLabel(s, s.title(), f"{s} look") for s in ("flat", "outline", "glossy"))
    contents = (
        ContentLabel("1f404", "cow", ("ox",), "animal"),
        ContentLabel("1f32d", "hot dog", (), "food"),
        ContentLabel("1f415", "dog", (), "animal"),
        ContentLabel("1f5b1", "computer mouse", ("mouse",), "object"),
        ContentLabel("1f401", "mouse", (), "animal"),
    )
    return ScorerLabels(styles, contents)


def _tiny_model(seed: int = 0) -> ScorerNet:
    labels = _tiny_labels()
    config = replace(SIZES["tiny"], num_styles=len(labels.styles),
                     num_contents=len(labels.contents))
    model = ScorerNet(config)
    initialize(model, torch.Generator().manual_seed(seed))
    return model.eval()


def _random_images(count: int, size: int = 20, seed: int = 0, mode: str = "RGB") -> list:
    generator = torch.Generator().manual_seed(seed)
    images = []
    for _ in range(count):
        pixels = torch.randint(0, 256, (size, size, 3), generator=generator, dtype=torch.uint8)
        images.append(Image.fromarray(pixels.numpy()).convert(mode))
    return images


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models are slower with several threads, badly so on a busy machine; restore after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture()
def random_images():
    """random_images(count, size=20, seed=0, mode="RGB") -> list of PIL images."""
    return _random_images


@pytest.fixture()
def tiny_labels() -> ScorerLabels:
    return _tiny_labels()


@pytest.fixture()
def tiny_model():
    """tiny_model(seed=0) -> a random ScorerNet for `tiny_labels`, in eval mode."""
    return _tiny_model


@pytest.fixture()
def stub_encoder() -> StubTextEncoder:
    return StubTextEncoder()


@pytest.fixture()
def scorers(stub_encoder) -> Scorers:
    return Scorers(_tiny_model(), _tiny_labels(), text_encoder=stub_encoder)
