"""Shared fixtures: tiny random aMUSEd-layout bases built from code (no download)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture(scope="session")
def tiny_base_dir(tmp_path_factory):
    from styledrop.testing import make_random_base

    path = tmp_path_factory.mktemp("tiny-base")
    make_random_base(path, size="tiny", text="clip", seed=0)
    return path


@pytest.fixture()
def tiny_base(tiny_base_dir):
    """A fresh BaseModel per test (tests attach adapters to it)."""
    from styledrop.base import load_base

    return load_base(tiny_base_dir)


@pytest.fixture(scope="session")
def other_base_dir(tmp_path_factory):
    from styledrop.testing import make_random_base

    path = tmp_path_factory.mktemp("other-base")
    make_random_base(path, size="tiny", text="clip", seed=1)
    return path
