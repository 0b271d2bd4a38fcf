"""The learned position embedding: a zero table changes nothing, a trained one tells positions
apart from an all-[MASK] input, it round-trips through a base folder and enters the base hash."""

import torch

from styledrop.base import load_base, save_base
from styledrop.position import PositionEmbedding


def all_masked_logits(base):
    h, w = base.grid
    text = base.text_encoder.encode(["a cow"])
    ids = torch.full((1, h, w), base.mask_id)
    with torch.no_grad():
        return base.transformer(ids, text.states, text.pooled, base.micro_conds(1))[0]  # (V, h, w)


def test_position_embedding_separates_interior_positions_and_round_trips(tiny_base, tmp_path):
    before = all_masked_logits(tiny_base)
    assert torch.equal(before[:, 3, 3], before[:, 4, 4]), "UVit2DModel alone cannot tell interior positions apart"
    zero = PositionEmbedding(tiny_base.transformer.config.block_out_channels, *tiny_base.grid).attach(tiny_base.transformer)
    assert torch.equal(all_masked_logits(tiny_base), before)
    zero._handle.remove()

    tiny_base.position = PositionEmbedding.for_transformer(tiny_base.transformer, generator=torch.Generator().manual_seed(0))
    after = all_masked_logits(tiny_base)
    assert not torch.allclose(after[:, 3, 3], after[:, 4, 4])

    tiny_base.sampling = {"content_scale": 1.0}
    save_base(tiny_base, tmp_path / "base")
    loaded = load_base(tmp_path / "base")
    assert torch.equal(loaded.position.table, tiny_base.position.table)
    assert loaded.sampling == {"content_scale": 1.0}
    torch.testing.assert_close(all_masked_logits(loaded), after)
    without = load_base(tmp_path / "base")
    assert loaded.transformer_hash() == without.transformer_hash()
    (tmp_path / "base" / "transformer" / "position_embedding.safetensors").unlink()
    assert load_base(tmp_path / "base").transformer_hash() != loaded.transformer_hash()
