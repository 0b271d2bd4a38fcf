"""The prompt -> content rule of `styledrop.evaluation.prompts`."""

from __future__ import annotations

import pytest

from styledrop.evaluation.labels import ContentLabel
from styledrop.evaluation.prompts import ContentMatcher, words
from styledrop.world.vocabulary import load_vocabulary

CONTENTS = (
    ContentLabel("1f404", "cow", ("ox",), "animal"),
    ContentLabel("1f32d", "hot dog", (), "food"),
    ContentLabel("1f415", "dog", (), "animal"),
    ContentLabel("1f5b1", "computer mouse", ("mouse",), "object"),
    ContentLabel("1f401", "mouse", (), "animal"),
    ContentLabel("1f6f6", "canoe", ("boat",), "vehicle"),
    ContentLabel("26f5", "sailboat", ("boat",), "vehicle"),
    ContentLabel("1fa73", "shorts", (), "clothing"),
    ContentLabel("1f457", "dress", (), "clothing"),
    ContentLabel("1f455", "t-shirt", ("tee",), "clothing"),
    ContentLabel("1f352", "cherries", (), "food"),
    ContentLabel("1f353", "strawberry", (), "food"),
)


def caption(prompt: str) -> str | None:
    index = ContentMatcher(CONTENTS).match_index(prompt)
    return None if index is None else CONTENTS[index].caption


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("A cow in [V] style", "cow"),  # placeholder dropped, case ignored
        ("an ox, drawn in [V] style", "cow"),  # a synonym
        ("a hot dog in [V] style", "hot dog"),  # longest at the earliest start beats "dog"
        ("a dog eating a hot dog", "dog"),  # earliest start wins
        ("two cows in a field", "cow"),  # plural +s
        ("three strawberries", "strawberry"),  # plural y -> ies
        ("a computer mouse", "computer mouse"),
        ("a mouse", "mouse"),  # shared term: the content whose caption it is
        ("a boat", None),  # shared term, caption of none: ambiguous
        ("a boat next to a cow", "cow"),  # the ambiguous term is skipped
        ("a short dress", "dress"),  # captions are never singularised ("shorts")
        ("a T-shirt in [V] style", "t-shirt"),  # punctuation normalised on both sides
        ("cherries", "cherries"),
        ("a landscape in [V] style", None),  # nothing in the vocabulary
        ("hotdog", None),  # whole words only
        ("[cow] in [V] style", None),  # bracketed text is a placeholder, not a content
    ],
)
def test_rule(prompt, expected):
    assert caption(prompt) == expected


def test_words_normalisation():
    assert words("A Jack-o-Lantern in [V] style!") == ("a", "jack", "o", "lantern", "in", "style")


def test_every_caption_of_the_real_vocabulary_names_its_own_content():
    vocabulary = [
        ContentLabel(c.content_id, c.caption, c.synonyms, c.category) for c in load_vocabulary()
    ]
    matcher = ContentMatcher(vocabulary)
    for index, content in enumerate(vocabulary):
        assert matcher.match_index(content.caption) == index, content.caption
        assert matcher.match_index(f"A {content.caption} in [V] style") == index, content.caption
