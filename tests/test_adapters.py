"""Adapters: identity at init, only adapter parameters learn, per-row gates, save/load; AdaIN's
statistics; the full fine-tune (not an adapter) trains every weight and gives the base back."""

import pytest
import torch

from styledrop.adapters.base import AdapterConfig
from styledrop.adapters.factory import COMPARED, new_adapter, trainable_parameter_counts
from styledrop.adapters.gates import gated
from styledrop.adapters.io import AdapterFile, attach_adapter_file, load_adapter_file, save_adapter_file
from styledrop.errors import StyleDropError

ADAPTERS = [AdapterConfig(kind="styledrop", rank=4, shared=True), AdapterConfig(kind="styledrop", rank=3, shared=False),
            AdapterConfig(kind="lora", rank=2), AdapterConfig(kind="adain")]
KINDS = [*ADAPTERS, AdapterConfig(kind="full")]  # full: a full fine-tune, not an adapter


def forward(base, rows=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = base.grid
    ids = torch.randint(0, base.mask_id + 1, (rows, h, w), generator=g)
    text = base.text_encoder.encode(["a cow in [V] style", "a piano"][:rows] * (rows // 2 or 1))
    return lambda: base.transformer(ids, text.states, text.pooled, base.micro_conds(rows))


def perturb(adapter):
    with torch.no_grad():
        for p in adapter.trainable_parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.5)


@pytest.mark.parametrize("config", KINDS, ids=lambda c: f"{c.kind}-r{c.rank}-{'shared' if c.shared else 'own'}")
def test_new_adapter_is_the_identity_and_changes_output_once_trained(tiny_base, config):
    run = forward(tiny_base)
    before = run()
    adapter = new_adapter(config, tiny_base.transformer, torch.Generator().manual_seed(0))
    assert torch.equal(run(), before)
    perturb(adapter)
    assert not torch.allclose(run(), before, atol=1e-4)
    adapter.detach()
    assert torch.equal(run(), before)


@pytest.mark.parametrize("config", ADAPTERS, ids=lambda c: c.kind)
def test_only_adapter_parameters_get_gradients(tiny_base, config):
    adapter = new_adapter(config, tiny_base.transformer, torch.Generator().manual_seed(0))
    perturb(adapter)  # LoRA's B starts at zero, which would zero A's gradient
    forward(tiny_base)().square().mean().backward()
    own = {id(p) for p in adapter.trainable_parameters()}
    for name, p in tiny_base.transformer.named_parameters():
        if id(p) not in own:
            assert p.grad is None, f"frozen parameter {name} got a gradient"
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in adapter.trainable_parameters())


def test_parameter_counts_and_paper_sharing(tiny_base):
    shared = new_adapter(AdapterConfig(rank=4, shared=True), tiny_base.transformer)
    n_shared = shared.num_parameters()
    shared.detach()
    own = new_adapter(AdapterConfig(rank=4, shared=False), tiny_base.transformer)
    d, layers = tiny_base.transformer.config.hidden_size, tiny_base.transformer.config.num_hidden_layers
    sites = 2 * layers
    assert n_shared == 2 * d * 4 + sites * (4 + d)
    assert own.num_parameters() == sites * (2 * d * 4 + 4 + d)
    own.detach()

    base_count = sum(p.numel() for p in tiny_base.transformer.parameters())
    counts = trainable_parameter_counts(tiny_base.transformer)
    assert list(counts) == list(COMPARED)
    assert counts["styledrop rank 4 shared (paper round 1)"] == n_shared
    assert counts["adain"] == layers * 2 * 3 * d  # scale, shift and mix per channel, for q and k of each layer
    assert counts["full fine-tune (not an adapter)"] == base_count
    assert sum(p.numel() for p in tiny_base.transformer.parameters()) == base_count  # LoRA and the rest detached
    assert not any(p.requires_grad for p in tiny_base.transformer.parameters())


def queries_of(base):
    """Run the transformer once: layer 0's self-attention queries as the attention uses them, (B, N, D)
    (a hook registered after the adapter's sees the adapter's output)."""
    seen = []
    handle = base.transformer.transformer_layers[0].attn1.to_q.register_forward_hook(lambda _m, _a, out: seen.append(out))
    forward(base)()
    handle.remove()
    return seen[0]


def test_adain_gives_the_queries_the_learned_statistics_per_channel(tiny_base):
    plain = queries_of(tiny_base)
    adapter = new_adapter(AdapterConfig(kind="adain"), tiny_base.transformer)
    with torch.no_grad():
        adapter.scale.copy_(torch.rand(adapter.scale.shape, generator=torch.Generator().manual_seed(5)) + 0.5)
        adapter.shift.copy_(torch.randn(adapter.shift.shape, generator=torch.Generator().manual_seed(6)))
        adapter.mix.fill_(1.0)
    scale, shift = adapter.scale[0].detach(), adapter.shift[0].detach()  # site 0: layer 0's to_q
    styled = queries_of(tiny_base)  # mix 1: norm(q) * s + m, statistics over the tokens of each row
    torch.testing.assert_close(styled.mean(dim=1), shift.expand(len(styled), -1), rtol=1e-4, atol=1e-4)
    own_std = plain.std(dim=1, unbiased=False)
    expected_std = scale * own_std / (own_std**2 + 1e-5).sqrt()  # the eps keeps std(norm(q)) just under 1
    torch.testing.assert_close(styled.std(dim=1, unbiased=False), expected_std, rtol=1e-4, atol=1e-4)

    with torch.no_grad():
        adapter.mix.fill_(0.5)  # halfway between the image's own statistics and the learned ones
    torch.testing.assert_close(queries_of(tiny_base).mean(dim=1), 0.5 * plain.mean(dim=1) + 0.5 * shift,
                               rtol=1e-4, atol=1e-4)


def test_full_fine_tune_trains_every_weight_and_gives_the_base_back(tiny_base):
    before = {k: v.clone() for k, v in tiny_base.transformer.state_dict().items()}
    full = new_adapter(AdapterConfig(kind="full"), tiny_base.transformer)
    assert full.num_parameters() == sum(v.numel() for v in before.values())
    forward(tiny_base)().square().mean().backward()
    grads = [p.grad for p in full.trainable_parameters()]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > 0.9 * len(grads)
    assert all(p.grad is None for p in full._frozen.parameters())  # the frozen copy serves gate-off rows only
    perturb(full)
    full.detach()
    after = tiny_base.transformer.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())
    assert not any(p.requires_grad for p in tiny_base.transformer.parameters())


@pytest.mark.parametrize("config", KINDS, ids=lambda c: c.kind)
def test_gate_switches_the_adapter_per_row(tiny_base, config):
    run = forward(tiny_base, rows=2)
    plain = run()
    adapter = new_adapter(config, tiny_base.transformer, torch.Generator().manual_seed(0))
    perturb(adapter)
    tuned = run()
    with gated({adapter: torch.tensor([1.0, 0.0])}):
        mixed = run()
    assert adapter.gate is None, "gate restored after the block"
    # 1e-4: the full fine-tune computes each half alone, a batch of one row (other matmul blocking)
    torch.testing.assert_close(mixed[0], tuned[0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(mixed[1], plain[1], rtol=1e-4, atol=1e-4)


def test_gate_restored_when_forward_raises(tiny_base):
    adapter = new_adapter(AdapterConfig(), tiny_base.transformer)
    with pytest.raises(RuntimeError), gated({adapter: torch.tensor([1.0])}):
        raise RuntimeError("boom")
    assert adapter.gate is None


@pytest.mark.parametrize("config", KINDS, ids=lambda c: c.kind)
def test_save_load_round_trip(tiny_base, tmp_path, config):
    adapter = new_adapter(config, tiny_base.transformer, torch.Generator().manual_seed(0))
    perturb(adapter)
    expected = forward(tiny_base)()
    file = AdapterFile(config=config, tensors=adapter.adapter_state(), base_id=tiny_base.name,
                       base_hash=tiny_base.transformer_hash(), captions=["A cow in [V] style"], style_descriptor="[V]",
                       training={"steps": 3}, seed=7)
    save_adapter_file(file, tmp_path / "a.safetensors")
    adapter.detach()
    loaded = load_adapter_file(tmp_path / "a.safetensors")
    assert loaded.config == config and loaded.captions == ["A cow in [V] style"] and loaded.seed == 7
    assert loaded.training == {"steps": 3} and loaded.content_hash() == file.content_hash()
    attach_adapter_file(tiny_base, loaded)
    torch.testing.assert_close(forward(tiny_base)(), expected)


def test_wrong_base_is_refused_naming_both(tiny_base, other_base_dir, tmp_path):
    from styledrop.base import load_base

    adapter = new_adapter(AdapterConfig(), tiny_base.transformer)
    file = AdapterFile(config=adapter.config, tensors=adapter.adapter_state(), base_id="tiny-one",
                       base_hash=tiny_base.transformer_hash())
    save_adapter_file(file, tmp_path / "a.safetensors")
    other = load_base(other_base_dir)
    with pytest.raises(StyleDropError) as err:
        attach_adapter_file(other, load_adapter_file(tmp_path / "a.safetensors"))
    assert "tiny-one" in str(err.value) and str(other_base_dir) in str(err.value)


def test_files_that_are_not_adapters_are_refused(tmp_path):
    from safetensors.torch import save_file

    (tmp_path / "text.safetensors").write_text("hello")
    save_file({"x": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    for name in ["text.safetensors", "plain.safetensors", "missing.safetensors"]:
        with pytest.raises(StyleDropError, match=name):
            load_adapter_file(tmp_path / name)


def test_lora_export_loads_in_diffusers(tiny_base, tiny_base_dir, tmp_path):
    from diffusers import UVit2DModel

    from styledrop.adapters.io import export_diffusers_lora

    config = AdapterConfig(kind="lora", rank=2)
    adapter = new_adapter(config, tiny_base.transformer, torch.Generator().manual_seed(0))
    perturb(adapter)
    ours = forward(tiny_base)()
    file = AdapterFile(config=config, tensors=adapter.adapter_state(), base_id="t", base_hash=tiny_base.transformer_hash())
    export_diffusers_lora(file, tmp_path / "pytorch_lora_weights.safetensors")

    model = UVit2DModel.from_pretrained(tiny_base_dir / "transformer")
    model.load_lora_adapter(str(tmp_path), weight_name="pytorch_lora_weights.safetensors", prefix="transformer")
    h, w = tiny_base.grid
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, tiny_base.mask_id + 1, (2, h, w), generator=g)
    text = tiny_base.text_encoder.encode(["a cow in [V] style", "a piano"])
    theirs = model(ids, text.states, text.pooled, tiny_base.micro_conds(2))
    torch.testing.assert_close(theirs, ours)
    assert not torch.allclose(theirs, UVit2DModel.from_pretrained(tiny_base_dir / "transformer")(
        ids, text.states, text.pooled, tiny_base.micro_conds(2)), atol=1e-4)
