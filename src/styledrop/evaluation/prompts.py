"""Which vocabulary content a free-text prompt asks for ("A cow in [V] style" -> cow).

The rule, applied by `ContentMatcher.match`:

1. Normalise the prompt and every vocabulary term (each content's caption and synonyms) the same
   way: drop bracketed placeholders such as ``[V]``, lower-case, turn every character that is
   not a letter or digit into a space ("t-shirt" -> "t shirt"), split into words.
2. A term occurs where its words appear as consecutive whole words of the prompt; its last word
   may carry a plural ending: +"s", +"es", or "y" -> "ies" ("two cows", "cherries" stays as is).
   Captions are never singularised: "a short dress" must not match "shorts".
3. Among all occurrences the one that starts earliest wins, then the longest ("a hot dog" ->
   hot dog, not dog; "a computer mouse" -> computer mouse, not mouse): in "A [content] in
   [style] style" the subject comes first.
4. A term shared by several contents goes to the content whose caption it is ("mouse" -> mouse,
   not computer mouse). If it is the caption of none ("boat": sailboat, speedboat, ship), the
   match is ambiguous and that occurrence is skipped; a later unambiguous term may still match.
5. No term found: the prompt maps to no content (None). Callers report such images apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .labels import ContentLabel

_PLACEHOLDER = re.compile(r"\[[^\]]*\]")  # "[V]", "[style]"
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def words(text: str) -> tuple[str, ...]:
    """The normalised words of `text` (rule 1)."""
    text = _PLACEHOLDER.sub(" ", text).lower()
    return tuple(_NOT_WORD.sub(" ", text).split())


def _plural_forms(word: str) -> set[str]:
    forms = {word, word + "s", word + "es"}
    if word.endswith("y") and len(word) > 1:
        forms.add(word[:-1] + "ies")
    return forms


@dataclass(frozen=True)
class ContentMatch:
    index: int  # class index in the vocabulary
    term: str  # the vocabulary term that matched, e.g. "hot dog"
    start: int  # word position in the normalised prompt


class ContentMatcher:
    """Maps prompts to content class indices of a fixed vocabulary (see the module rule)."""

    def __init__(self, contents: Sequence[ContentLabel]):
        owners: dict[tuple[str, ...], list[int]] = {}
        captions: dict[tuple[str, ...], int] = {}
        for index, content in enumerate(contents):
            for term in (content.caption, *content.synonyms):
                key = words(term)
                if key and index not in owners.setdefault(key, []):
                    owners[key].append(index)
            captions.setdefault(words(content.caption), index)
        # term words -> the one content it names (rule 4), or None when ambiguous
        self._terms: dict[tuple[str, ...], int | None] = {}
        for key, indices in owners.items():
            if len(indices) == 1:
                self._terms[key] = indices[0]
            else:
                self._terms[key] = captions.get(key)
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for key in self._terms:
            self._by_first.setdefault(key[0], []).append(key)

    def match(self, prompt: str) -> ContentMatch | None:
        tokens = words(prompt)
        for start in range(len(tokens)):
            found: list[tuple[str, ...]] = []
            for first in {tokens[start]} | _singular_candidates(tokens[start]):
                for key in self._by_first.get(first, ()):
                    if self._occurs(key, tokens, start):
                        found.append(key)
            unambiguous = [key for key in found if self._terms[key] is not None]
            if unambiguous:
                best = max(unambiguous, key=len)  # rule 3: longest at the earliest start
                return ContentMatch(self._terms[best], " ".join(best), start)
        return None

    def match_index(self, prompt: str) -> int | None:
        found = self.match(prompt)
        return None if found is None else found.index

    @staticmethod
    def _occurs(key: tuple[str, ...], tokens: tuple[str, ...], start: int) -> bool:
        end = start + len(key)
        if end > len(tokens):
            return False
        if tokens[start : end - 1] != key[:-1]:
            return False
        return tokens[end - 1] in _plural_forms(key[-1])


def _singular_candidates(token: str) -> set[str]:
    """Words whose plural forms could be `token`: lets a one-word term match "cows"."""
    out = set()
    if token.endswith("s"):
        out.add(token[:-1])
    if token.endswith("es"):
        out.add(token[:-2])
    if token.endswith("ies"):
        out.add(token[:-3] + "y")
    return out
