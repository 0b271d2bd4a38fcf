"""The bundled base draws what it is asked: a broken or mis-exported bundle fails here.

Eight plain prompts of concepts the base was trained on, one fixed seed each, judged by the bundled
scorers. Measured on the bundled base (v5): content top-5 8 of 8, top-1 8 of 8 (this test's own
figures; `.venv/bin/python -m pytest tests/test_bundled_base.py -s` prints them). The floor is
well under that, so sampler noise does not fail it, while a base that draws noise (top-5 of a
random guess over 411 concepts: 5/411) does.
"""

import pytest

from styledrop import bundled
from styledrop.base import load_base
from styledrop.evaluation.scorers import Scorers
from styledrop.pipeline import StyleDropPipeline, sampler_settings

CONTENTS = ["cow", "cat", "fox", "elephant", "watermelon", "banana", "house", "rocket"]
FLOOR_TOP5 = 5  # of 8

pytestmark = pytest.mark.skipif(not (bundled.EMOJI_BASE / "model_index.json").is_file() or
                                not (bundled.SCORERS / "model.safetensors").is_file(),
                                reason="installed without the bundled models")


def test_the_bundled_base_draws_the_concepts_it_is_asked_for():
    base = load_base(bundled.EMOJI_BASE)
    config = sampler_settings(base, overrides={"seed": 0})
    drawn = StyleDropPipeline(base).generate([f"A {c}" for c in CONTENTS], config, show_progress=False)
    assert len(drawn) == len(CONTENTS) and all(g.image.size == (base.resolution,) * 2 for g in drawn)

    scorers = Scorers.load(bundled.SCORERS)
    read = scorers.classify_content([g.image for g in drawn], k=5)
    top5 = sum(c in [caption for caption, _ in guesses] for c, guesses in zip(CONTENTS, read))
    top1 = sum(c == guesses[0][0] for c, guesses in zip(CONTENTS, read))
    print(f"bundled base, {len(CONTENTS)} plain prompts: content top-1 {top1}, top-5 {top5}")
    assert top5 >= FLOOR_TOP5, f"the bundled base drew {top5} of {len(CONTENTS)} asked concepts (top-5); floor {FLOOR_TOP5}"
