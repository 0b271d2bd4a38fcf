"""PositionalUVit2DModel: a zero table changes nothing, a trained one tells positions apart from an
all-[MASK] input; the table is a weight like the others (from_pretrained, the base hash), and a
base folder in the old layout (table in its own file beside a UVit2DModel) loads to the same model."""

import copy
import json

import pytest
import torch
from diffusers import UVit2DModel
from safetensors.torch import save_file

from styledrop.base import hash_state_dict, load_base, load_transformer, save_base
from styledrop.base.position import LEGACY_FILE, LEGACY_KEY, PositionalUVit2DModel
from styledrop.errors import StyleDropError


def all_masked_logits(base, transformer=None):
    h, w = base.grid
    text = base.text_encoder.encode(["a cow"])
    ids = torch.full((1, h, w), base.mask_id)
    with torch.no_grad():
        return (transformer or base.transformer)(ids, text.states, text.pooled, base.micro_conds(1))[0]  # (V, h, w)


def with_positions(transformer: UVit2DModel, table: torch.Tensor | None = None) -> PositionalUVit2DModel:
    """`transformer`'s weights in a PositionalUVit2DModel, with `table` (default: the zero it starts as)."""
    with torch.device("meta"):  # no random init: every tensor comes from `state`
        model = PositionalUVit2DModel.from_config(transformer.config, learned_positions=True)
    table = torch.zeros_like(model.position_embedding, device="cpu") if table is None else table
    state = {k: v.clone() for k, v in transformer.state_dict().items()} | {"position_embedding": table.clone()}
    model.load_state_dict(state, assign=True)
    return model.eval().requires_grad_(False)


def random_table(base, seed=0):
    h, w = base.grid
    channels = base.transformer.config.block_out_channels
    return torch.randn(1, channels, h, w, generator=torch.Generator().manual_seed(seed))


def test_zero_table_changes_nothing_and_a_trained_one_separates_interior_positions(tiny_base):
    before = all_masked_logits(tiny_base)
    assert torch.equal(before[:, 3, 3], before[:, 4, 4]), "UVit2DModel alone cannot tell interior positions apart"
    zero = with_positions(tiny_base.transformer)
    assert not zero.position_embedding.any()
    # Equal up to float rounding: on some CPUs (an AMD EPYC here) the two modules' matrix products take
    # kernels that round differently, by a few ulp (6e-6 on logits up to 14); a table that moved anything
    # would move logits by far more.
    torch.testing.assert_close(all_masked_logits(tiny_base, zero), before, rtol=1e-6, atol=1e-5)

    after = all_masked_logits(tiny_base, with_positions(tiny_base.transformer, random_table(tiny_base)))
    assert not torch.allclose(after[:, 3, 3], after[:, 4, 4])
    assert "position_embedding" not in UVit2DModel.from_config(tiny_base.transformer.config).state_dict()


def test_the_table_is_added_after_the_token_embedding(tiny_base):
    """The same sum the old forward hook on `embed` made: embed(ids) + table, before the down block."""
    table = random_table(tiny_base)
    model = with_positions(tiny_base.transformer, table)
    ids = torch.randint(tiny_base.codebook_size, (2, *tiny_base.grid), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model.embed(ids), tiny_base.transformer.embed(ids) + table)
        copied = copy.deepcopy(model)  # the hook follows the copy's own table
        copied.position_embedding.zero_()
        assert torch.equal(copied.embed(ids), tiny_base.transformer.embed(ids))
        assert torch.equal(model.embed(ids), tiny_base.transformer.embed(ids) + table)


def test_from_pretrained_keeps_the_table_and_the_base_round_trips(tiny_base, tmp_path):
    tiny_base.transformer = with_positions(tiny_base.transformer, random_table(tiny_base))
    expected = all_masked_logits(tiny_base)
    tiny_base.sampling, tiny_base.sampling_styled = {"content_scale": 1.0}, {"content_scale": 2.0}
    save_base(tiny_base, tmp_path / "base")

    folder = tmp_path / "base" / "transformer"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "diffusion_pytorch_model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["_class_name"] == "PositionalUVit2DModel" and config["learned_positions"] is True
    index = json.loads((tmp_path / "base" / "model_index.json").read_text())
    assert index["transformer"] == ["styledrop", "PositionalUVit2DModel"]

    direct = PositionalUVit2DModel.from_pretrained(folder)  # diffusers' own loader, no styledrop glue
    assert torch.equal(direct.position_embedding, tiny_base.transformer.position_embedding)
    assert torch.equal(all_masked_logits(tiny_base, direct), expected)
    dropped = UVit2DModel.from_pretrained(folder)  # diffusers' class ignores the table: the reason for the subclass
    assert not torch.equal(all_masked_logits(tiny_base, dropped), expected)

    loaded = load_base(tmp_path / "base")
    assert type(loaded.transformer) is PositionalUVit2DModel and loaded.sampling == {"content_scale": 1.0}
    assert loaded.sampling_styled == {"content_scale": 2.0}
    assert torch.equal(all_masked_logits(loaded), expected)
    assert loaded.transformer_hash() == hash_state_dict(tiny_base.transformer.state_dict())


def test_the_base_hash_covers_the_table(tiny_base, tmp_path):
    plain = tiny_base.transformer
    tiny_base.transformer = with_positions(plain, random_table(tiny_base, seed=0))
    save_base(tiny_base, tmp_path / "a")
    tiny_base.transformer = with_positions(plain, random_table(tiny_base, seed=1))
    save_base(tiny_base, tmp_path / "b")
    a, b = load_base(tmp_path / "a"), load_base(tmp_path / "b")
    assert a.transformer_hash() != b.transformer_hash()
    assert a.transformer_hash() == load_base(tmp_path / "a").transformer_hash()


def write_legacy_transformer(transformer: UVit2DModel, table: torch.Tensor, folder):
    """The old layout: UVit2DModel config and fp16 weights, the fp32 table in its own file."""
    transformer.half().save_pretrained(folder)
    save_file({LEGACY_KEY: table.float().contiguous()}, str(folder / LEGACY_FILE))
    transformer.float()


def test_an_old_layout_folder_loads_into_the_subclass_with_the_same_outputs(tiny_base, tmp_path):
    table = random_table(tiny_base)
    tiny_base.transformer.half().float()  # the fp16 values the old folder stores, so the reference sees them too
    save_base(tiny_base, tmp_path / "base")  # a UVit2DModel base; its transformer is replaced by the old layout
    write_legacy_transformer(tiny_base.transformer, table, tmp_path / "base" / "transformer")
    config = json.loads((tmp_path / "base" / "transformer" / "config.json").read_text())
    assert config["_class_name"] == "UVit2DModel" and "learned_positions" not in config

    # What the old code computed: diffusers' UVit2DModel with a forward hook adding the table after `embed`.
    reference = UVit2DModel.from_pretrained(tmp_path / "base" / "transformer")
    reference.embed.register_forward_hook(lambda _m, _a, out: out + table.to(out.dtype))
    old_state = dict(reference.state_dict()) | {"position_embedding": table}

    loaded = load_base(tmp_path / "base")
    assert type(loaded.transformer) is PositionalUVit2DModel and loaded.transformer.dtype == torch.float32
    assert torch.equal(loaded.transformer.position_embedding, table)
    assert torch.equal(all_masked_logits(loaded), all_masked_logits(tiny_base, reference))
    assert loaded.transformer_hash() == hash_state_dict(old_state)  # adapters trained on it still match

    save_base(loaded, tmp_path / "resaved")  # written again: the new layout, same model
    assert not (tmp_path / "resaved" / "transformer" / LEGACY_FILE).exists()
    again = load_base(tmp_path / "resaved")
    assert torch.equal(all_masked_logits(again), all_masked_logits(loaded))
    assert again.transformer_hash() == loaded.transformer_hash()


def test_a_plain_amused_folder_stays_a_uvit2dmodel_and_an_unknown_class_is_refused(tiny_base_dir, tmp_path):
    assert type(load_transformer(tiny_base_dir / "transformer")) is UVit2DModel
    folder = tmp_path / "transformer"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"_class_name": "UNet2DModel"}))
    with pytest.raises(StyleDropError, match="config.json: unsupported transformer class 'UNet2DModel'"):
        load_transformer(folder)


def test_the_subclass_takes_every_uvit2dmodel_setting_with_its_default():
    import inspect

    theirs = inspect.signature(UVit2DModel.__init__).parameters
    ours = inspect.signature(PositionalUVit2DModel.__init__).parameters
    assert list(ours) == [*theirs, "learned_positions"]
    assert all(ours[name].default == theirs[name].default for name in theirs)


def test_save_base_replaces_a_folder_whole_and_keeps_its_extra_files(tmp_path, tiny_base):
    target = tmp_path / "base"
    save_base(tiny_base, target)
    (target / "README.md").write_text("model card")
    (target / "transformer" / "stale.json").write_text("{}")  # a file of the old transformer folder
    save_base(tiny_base, target)
    assert (target / "README.md").read_text() == "model card"
    assert not (target / "transformer" / "stale.json").exists()  # sub-folders are the new base's own
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]  # no temporary folders left
    assert load_base(target).transformer_hash() == tiny_base.transformer_hash()
