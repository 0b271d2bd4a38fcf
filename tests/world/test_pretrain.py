"""Pretraining the emoji-world base on a fake dataset: it runs, resumes exactly, and the result
loads as a base that samples."""

import json
import random
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file

from styledrop.base import load_base
from styledrop.describe import base_style_words
from styledrop.errors import StyleDropError
from styledrop.pipeline import SampleConfig, StyleDropPipeline
from styledrop.pretraining.pretrain import (
    BASE_CONTENTS,
    STYLE_VARIANTS,
    PretrainConfig,
    caption_rows,
    caption_variants,
    export_checkpoint,
    prepare_training_set,
    pretrain_base,
    style_only_caption,
    transformer_records,
)
from styledrop.world.manifest import ManifestRecord
from styledrop.world.variants import VARIANT_WORDS

from .test_emoji_dataset import build

TINY = dict(resolution=32, patch=4, codes=8, kmeans_iterations=3, hidden=16, layers=1, heads=1, block_channels=8,
            batch_size=4, warmup=2, checkpoint_every=2, threads=1, contents="all",
            variants=STYLE_VARIANTS)


def test_pretrain_resumes_exactly_and_makes_a_base(tmp_path, fake_packages):
    data = tmp_path / "emoji"
    build(data, fake_packages)
    straight = pretrain_base(data, tmp_path / "a", tmp_path / "a-base", PretrainConfig(steps=4, **TINY),
                             show_progress=False)
    assert straight["steps"] == 4
    assert straight["variant_images"] == len(STYLE_VARIANTS) * straight["training_images"]
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=2, **TINY), show_progress=False)
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=4, **TINY), show_progress=False)
    a = load_file(str(tmp_path / "a" / "transformer.ckpt.safetensors"))
    b = load_file(str(tmp_path / "b" / "transformer.ckpt.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("weights/"))

    base = load_base(tmp_path / "a-base")
    assert base.text_encoder.kind == "minilm" and base.resolution == 32 and base.grid == (8, 8)
    assert base.transformer.dtype == torch.float32  # stored fp16, computed in fp32 on CPU
    assert base.transformer.position_embedding.shape == (1, 8, 8, 8)
    tokens = StyleDropPipeline(base).sample_tokens(["A cow"], [0], SampleConfig(steps=3))
    assert tokens.shape == (1, 8, 8) and tokens.max() < 8

    assert export_checkpoint(tmp_path / "a", tmp_path / "exported") == 4
    exported = load_file(str(tmp_path / "exported" / "transformer" / "diffusion_pytorch_model.safetensors"))
    finished = load_file(str(tmp_path / "a-base" / "transformer" / "diffusion_pytorch_model.safetensors"))
    assert exported.keys() == finished.keys() and all(torch.equal(exported[k], finished[k]) for k in finished)
    words = base_style_words(tmp_path / "a-base")  # what `styledrop describe` ranks: the captions' style words
    assert words == base_style_words(tmp_path / "exported") and "noto" in words and "outlined" in words
    assert all(f"noto {w}" in words for w in VARIANT_WORDS.values())


def test_bf16_pretraining_resumes_exactly_and_learns(tmp_path, fake_packages):
    data = tmp_path / "emoji"
    build(data, fake_packages)
    bf16 = dict(TINY, precision="bf16")
    straight = pretrain_base(data, tmp_path / "a", tmp_path / "a-base", PretrainConfig(steps=4, **bf16),
                             show_progress=False)
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=2, **bf16), show_progress=False)
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=4, **bf16), show_progress=False)
    a = load_file(str(tmp_path / "a" / "transformer.ckpt.safetensors"))
    b = load_file(str(tmp_path / "b" / "transformer.ckpt.safetensors"))
    assert straight["steps"] == 4 and all(torch.equal(a[k], b[k]) for k in a if k.startswith("weights/"))
    with pytest.raises(StyleDropError, match="precision"):  # a run in fp32 does not resume a bf16 checkpoint
        pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=6, **TINY), show_progress=False)


def record(caption: str, split: str) -> ManifestRecord:
    return ManifestRecord(content_id=caption, name=caption, caption=caption, synonyms=(), category="animal",
                          style="noto", split=split, paths={}, source_file="", package="", license="")


def test_base_contents_keep_only_listed_pretraining_images():
    import json

    listed = json.loads(BASE_CONTENTS.read_text())["contents"]
    assert len(listed) == len(set(listed)) == 128 and {"cow", "watermelon", "piano"} <= set(listed)
    records = [record("cow", "pretrain"), record("cow", "heldout_style"), record("cow", "heldout_pair"),
               record("not a base content", "pretrain")]
    assert transformer_records(records, "base") == records[:1]
    assert transformer_records(records, "all") == [records[0], records[3]]
    with pytest.raises(StyleDropError, match="contents='all'"):
        transformer_records(records[3:], "base")


def test_core_contents_add_what_the_demo_and_the_pool_draw_to_the_base_contents():
    import json

    from styledrop.demo import CONTENTS as DEMO_CONTENTS
    from styledrop.feedback.pool import CONTENTS as POOL_CONTENTS
    from styledrop.world.vocabulary import load_vocabulary

    listed = json.loads(BASE_CONTENTS.read_text())
    base, additions = set(listed["contents"]), listed["core_additions"]
    assert additions and not base & set(additions)
    caption_of = {name: c.caption for c in load_vocabulary() for name in (c.caption, *c.synonyms)}
    assert {caption_of[name] for name in (*DEMO_CONTENTS, *POOL_CONTENTS)} <= base | set(additions)
    assert set(additions) <= set(caption_of.values())  # each addition is a vocabulary caption
    records = [record("tree", "pretrain"), record("cow", "pretrain"), record("tree", "heldout_pair")]
    assert transformer_records(records, "base") == records[1:2]
    assert transformer_records(records, "core") == records[:2]
    with pytest.raises(StyleDropError, match="core"):
        transformer_records(records, "some")


def test_unknown_style_variant_is_refused_with_the_known_ones(tmp_path, fake_packages):
    data = tmp_path / "emoji"
    build(data, fake_packages)
    with pytest.raises(StyleDropError, match="watercolour.*outlined"):
        config = PretrainConfig(steps=1, **(TINY | {"variants": ("watercolour",)}))
        pretrain_base(data, tmp_path / "w", tmp_path / "w-base", config, show_progress=False)


def test_caption_variants_use_the_style_words_and_plain_nouns():
    from styledrop.world.manifest import ManifestRecord

    record = ManifestRecord(content_id="1f42e", name="cow face", caption="cow", synonyms=("cattle",), category="animal",
                            style="fluent-flat", split="pretrain", paths={}, source_file="", package="", license="")
    styled, plain = caption_variants(record)
    assert styled == ["A cow in fluent flat style", "A cattle in fluent flat style"]
    assert plain == ["A cow", "A cattle"]
    styled, plain = caption_variants(record, "line-art")
    assert styled[0] == "A cow in fluent flat line art style"
    assert plain == styled  # "A cow" keeps meaning the real sets' look


def test_style_only_captions_name_the_style_of_each_image_and_no_content(tmp_path, fake_packages):
    record = ManifestRecord(content_id="1f42e", name="cow face", caption="cow", synonyms=(), category="animal",
                            style="fluent-flat", split="pretrain", paths={}, source_file="", package="", license="")
    assert style_only_caption(record) == "An emoji in fluent flat style"
    assert style_only_caption(record, "line-art") == "An emoji in fluent flat line art style"

    data = tmp_path / "emoji"
    build(data, fake_packages)
    without, _ = prepare_training_set(data, tmp_path / "w0", PretrainConfig(**TINY))
    assert without.style_only_ids == [] and not any(p.startswith("An emoji") for p in without.prompts)
    config = PretrainConfig(**(TINY | {"style_only_caption": 0.5}))
    alone, _ = prepare_training_set(data, tmp_path / "w1", config)
    assert len(alone.style_only_ids) == len(alone.tokens)
    for i in range(len(alone.tokens)):  # the style words of the image's own styled captions, no noun
        styled = alone.prompts[alone.styled_ids[i][0]]
        assert alone.prompts[alone.style_only_ids[i]] == "An emoji in " + styled.split(" in ", 1)[1]

    everything = list(range(len(alone.tokens))) * 20
    only = caption_rows(alone, everything, replace(config, plain_caption=0.0, style_only_caption=1.0), random.Random(0))
    assert only == [alone.style_only_ids[i] for i in everything]
    mixed = caption_rows(alone, everything, config, random.Random(0))  # plain 0.2, alone 0.5, styled 0.3
    share = sum(r == alone.style_only_ids[i] for r, i in zip(mixed, everything)) / len(everything)
    assert 0.4 < share < 0.6
    none = caption_rows(alone, everything, replace(config, style_only_caption=0.0), random.Random(0))
    assert not set(none) & set(alone.style_only_ids)

    with pytest.raises(StyleDropError, match="plain_caption 0.2 \\+ style_only_caption 0.9"):
        prepare_training_set(data, tmp_path / "w2", replace(config, style_only_caption=0.9))


def test_pretrain_command_takes_variants_from_flags_over_the_toml(tmp_path, fake_packages, capsys):
    from styledrop.cli import main

    data = tmp_path / "emoji"
    build(data, fake_packages)
    recipe = tmp_path / "recipe.toml"
    tiny = {k: v for k, v in TINY.items() if k != "variants"}
    recipe.write_text("[pretrain]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in tiny.items())
                      + 'variants = ["grayscale"]\n')
    argv = ["pretrain", "--data", data, "--work", tmp_path / "w", "--out", tmp_path / "b", "--config", recipe,
            "--steps", "2", "--device", "cpu", "--variants", "outlined", "line-art", "--variant-share", "0.3"]
    assert main([str(a) for a in argv]) == 0
    settings = json.loads((tmp_path / "w" / "pretrain.json").read_text())
    assert settings["variants"] == ["outlined", "line-art"] and settings["variant_share"] == 0.3
    assert (tmp_path / "b" / "transformer").is_dir()

    bad = argv[:-1] + ["1.5"]
    assert main([str(a) for a in bad]) == 2
    assert "variant_share 1.5" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main([str(a) for a in argv[:-6] + ["cuda"]]) == 2
        assert "CUDA is not available" in capsys.readouterr().err


def test_time_budget_sets_the_step_count_after_the_warm_up(tmp_path, fake_packages):
    from styledrop.base.text.minilm import MiniLMTextEncoder
    from styledrop.pretraining.pretrain import prepare_training_set, train_transformer
    from styledrop.training.checkpoint import load_checkpoint

    data = tmp_path / "emoji"
    build(data, fake_packages)
    config = PretrainConfig(steps=1000, **(TINY | {"warmup": 4, "checkpoint_every": 1000}))
    prepared, _ = prepare_training_set(data, tmp_path / "w", config)
    text = MiniLMTextEncoder(config.text_max_length).encode(prepared.prompts)
    # A budget already spent when the rate is measured: the run stops one step after the warm-up.
    _, report = train_transformer(prepared, text, tmp_path / "w", config, show_progress=False, time_budget=1e-6)
    assert report["steps"] == config.warmup + 1
    assert load_checkpoint(tmp_path / "w" / "transformer.ckpt.safetensors").settings["steps"] == config.warmup + 1


def test_init_continues_from_a_base_folder_with_its_tokenizer_and_weights(tmp_path, fake_packages):
    data = tmp_path / "emoji"
    build(data, fake_packages)
    pretrain_base(data, tmp_path / "a", tmp_path / "a-base", PretrainConfig(steps=4, **TINY), show_progress=False)
    # A fresh work folder and another seed: without init it would fit its own tokenizer and draw its own weights.
    config = PretrainConfig(steps=0, **(TINY | {"seed": 7, "init": str(tmp_path / "a-base")}))
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", config, show_progress=False)
    a, b = load_base(tmp_path / "a-base"), load_base(tmp_path / "b-base")
    assert torch.equal(a.image_tokenizer.codebook, b.image_tokenizer.codebook)
    a_weights, b_weights = a.transformer.state_dict(), b.transformer.state_dict()
    assert a_weights.keys() == b_weights.keys() and all(torch.equal(a_weights[k], b_weights[k]) for k in a_weights)
    assert torch.equal(a.transformer.position_embedding, b.transformer.position_embedding)

    trained = pretrain_base(data, tmp_path / "c", tmp_path / "c-base", replace(config, steps=2), show_progress=False)
    assert trained["steps"] == 2
    c_weights = load_base(tmp_path / "c-base").transformer.state_dict()
    assert any(not torch.equal(a_weights[k], c_weights[k]) for k in a_weights)  # it trained on from there


def test_init_that_does_not_fit_names_the_folder_and_the_fix(tmp_path, fake_packages):
    data = tmp_path / "emoji"
    build(data, fake_packages)
    pretrain_base(data, tmp_path / "a", tmp_path / "a-base", PretrainConfig(steps=1, **TINY), show_progress=False)
    wider = PretrainConfig(steps=1, **(TINY | {"hidden": 24, "init": str(tmp_path / "a-base")}))
    with pytest.raises(StyleDropError, match="a-base does not fit.*set hidden, layers"):
        pretrain_base(data, tmp_path / "w", tmp_path / "w-base", wider, show_progress=False)
    other = PretrainConfig(steps=1, **(TINY | {"init": str(tmp_path / "a-base")}))
    with pytest.raises(StyleDropError, match="holds another tokenizer"):  # s fitted its own, with another seed
        pretrain_base(data, tmp_path / "s", tmp_path / "s-base", PretrainConfig(steps=1, **(TINY | {"seed": 5})),
                      show_progress=False)
        pretrain_base(data, tmp_path / "s", tmp_path / "s-base", other, show_progress=False)
    nowhere = PretrainConfig(steps=1, **(TINY | {"init": str(tmp_path / "missing")}))
    with pytest.raises(StyleDropError, match="missing is not a base folder"):
        pretrain_base(data, tmp_path / "m", tmp_path / "m-base", nowhere, show_progress=False)


def test_init_over_another_tokenizer_starts_each_new_code_as_the_nearest_old_one(tmp_path, fake_packages):
    from styledrop.base.patch_tokenizer import nearest

    data = tmp_path / "emoji"
    build(data, fake_packages)
    pretrain_base(data, tmp_path / "a", tmp_path / "a-base", PretrainConfig(steps=2, **TINY), show_progress=False)
    finer = TINY | {"codes": 16, "seed": 3}
    pretrain_base(data, tmp_path / "f", tmp_path / "f-base", PretrainConfig(steps=0, **finer), show_progress=False)
    config = PretrainConfig(steps=0, **(finer | {"init": str(tmp_path / "a-base"), "tokenizer": str(tmp_path / "f" / "vqvae")}))
    pretrain_base(data, tmp_path / "c", tmp_path / "c-base", config, show_progress=False)

    a, f, c = (load_base(tmp_path / name) for name in ("a-base", "f-base", "c-base"))
    assert torch.equal(c.image_tokenizer.codebook, f.image_tokenizer.codebook) and c.mask_id == 16
    old = nearest(f.image_tokenizer.codebook, a.image_tokenizer.codebook)
    assert len(set(old.tolist())) > 1  # the test means something only if new codes map to several old ones
    a_weights, c_weights = a.transformer.state_dict(), c.transformer.state_dict()
    embed, head = "embed.embeddings.weight", "mlm_layer.conv2.weight"
    assert torch.equal(c_weights[embed][:16], a_weights[embed][old]) and torch.equal(c_weights[embed][16], a_weights[embed][8])
    assert torch.equal(c_weights[head], a_weights[head][old])
    assert all(torch.equal(a_weights[k], c_weights[k]) for k in a_weights if k not in (embed, head))

    with pytest.raises(StyleDropError, match="has 16 codes but codes = 8; set codes = 16"):
        wrong = PretrainConfig(steps=0, **(TINY | {"tokenizer": str(tmp_path / "f" / "vqvae")}))
        pretrain_base(data, tmp_path / "w", tmp_path / "w-base", wrong, show_progress=False)
    with pytest.raises(StyleDropError, match=r"nowhere is not a fitted tokenizer folder \(no config.json\) \(no folder at /"):
        missing = PretrainConfig(steps=0, **(TINY | {"tokenizer": str(tmp_path / "nowhere")}))
        pretrain_base(data, tmp_path / "m", tmp_path / "m-base", missing, show_progress=False)


def test_retarget_vocabulary_refuses_another_patch_size():
    from styledrop.base.patch_tokenizer import PatchKMeansTokenizer
    from styledrop.pretraining.starting_point import retarget_vocabulary

    with pytest.raises(StyleDropError, match="2-pixel patches, the tokenizer 4"):
        retarget_vocabulary({}, PatchKMeansTokenizer(torch.rand(8, 12), 2), PatchKMeansTokenizer(torch.rand(8, 48), 4))


def write_old_layout(path):
    """Rewrite a pretraining checkpoint as the code before PositionalUVit2DModel wrote it: the weights of
    ModuleDict({"transformer": UVit2DModel, "position": module with .table}), optimizer state in its order."""
    from diffusers import UVit2DModel

    from styledrop.pretraining.pretrain import build_transformer
    from styledrop.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(path)
    with torch.device("meta"):
        model = build_transformer(PretrainConfig(**ckpt.settings))
        position = torch.nn.Module()
        position.table = torch.nn.Parameter(torch.empty_like(model.position_embedding))
        plain = {k: v for k, v in model.config.items() if k != "learned_positions"}
        old = torch.nn.ModuleDict({"transformer": UVit2DModel.from_config(plain), "position": position})
    new_names = [name for name, _ in model.named_parameters()]
    old_names = [name for name, _ in old.named_parameters()]
    renamed = ["position_embedding" if n == "position.table" else n.removeprefix("transformer.") for n in old_names]
    weights = {old: ckpt.weights[new] for old, new in zip(old_names, renamed)}
    state = {i: ckpt.optimizer["state"][new_names.index(new)] for i, new in enumerate(renamed)}
    groups = [group | {"params": list(range(len(old_names)))} for group in ckpt.optimizer["param_groups"]]
    save_checkpoint(Checkpoint(ckpt.step, weights, {"state": state, "param_groups": groups}, ckpt.rng,
                               ckpt.settings, ckpt.losses), path)


def test_a_checkpoint_of_the_old_layout_exports_and_resumes_exactly(tmp_path, fake_packages):
    data = tmp_path / "emoji"
    build(data, fake_packages)
    pretrain_base(data, tmp_path / "a", tmp_path / "a-base", PretrainConfig(steps=4, **TINY), show_progress=False)
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=2, **TINY), show_progress=False)
    checkpoint = tmp_path / "b" / "transformer.ckpt.safetensors"
    write_old_layout(checkpoint)
    old = load_file(str(checkpoint))
    assert "weights/position.table" in old and "weights/transformer.embed.conv.weight" in old
    assert "weights/position_embedding" not in old

    assert export_checkpoint(tmp_path / "b", tmp_path / "b-exported") == 2
    exported = load_base(tmp_path / "b-exported").transformer.state_dict()
    written = load_base(tmp_path / "b-base").transformer.state_dict()  # what training wrote at step 2
    assert exported.keys() == written.keys() and all(torch.equal(exported[k], written[k]) for k in written)

    # Steps 3 and 4 use Adam's moments from the old file: a wrong re-keying would not end where `a` does.
    pretrain_base(data, tmp_path / "b", tmp_path / "b-base", PretrainConfig(steps=4, **TINY), show_progress=False)
    a = load_file(str(tmp_path / "a" / "transformer.ckpt.safetensors"))
    b = load_file(str(checkpoint))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a if k.startswith(("weights/", "optim/")))


def test_pretrain_over_a_vqmodel_folder_makes_a_diffusers_vq_base(tmp_path, fake_packages):
    from diffusers import VQModel

    from styledrop.base.tokenizer import VQTokenizer

    data = tmp_path / "emoji"
    build(data, fake_packages)
    torch.manual_seed(0)
    vq = VQModel(block_out_channels=(8, 8, 8), down_block_types=("DownEncoderBlock2D",) * 3,
                 up_block_types=("UpDecoderBlock2D",) * 3, latent_channels=4, layers_per_block=1, norm_num_groups=4,
                 num_vq_embeddings=8, sample_size=32, mid_block_add_attention=False, lookup_from_codebook=True)
    vq.save_pretrained(tmp_path / "vq")  # f = 4: 8 x 8 tokens of a 32 px image
    config = PretrainConfig(steps=2, **(TINY | {"tokenizer": str(tmp_path / "vq"), "downsample": False}))
    report = pretrain_base(data, tmp_path / "w", tmp_path / "w-base", config, show_progress=False)
    assert report["steps"] == 2

    base = load_base(tmp_path / "w-base")
    assert isinstance(base.image_tokenizer, VQTokenizer) and base.grid == (8, 8) and base.resolution == 32
    assert not base.transformer.config.downsample  # the transformer layers run on the 8 x 8 token grid
    assert json.loads((tmp_path / "w-base" / "model_index.json").read_text())["vqvae"] == ["diffusers", "VQModel"]
    mine, theirs = base.image_tokenizer.vq.state_dict(), VQModel.from_pretrained(tmp_path / "vq").state_dict()
    assert all(torch.equal(mine[k], theirs[k]) for k in theirs)
    tokens = StyleDropPipeline(base).sample_tokens(["A cow"], [0], SampleConfig(steps=3))
    assert tokens.shape == (1, 8, 8) and tokens.max() < 8

    with pytest.raises(StyleDropError, match="tokens of 4 x 4 pixels but patch = 2; set patch = 4"):
        pretrain_base(data, tmp_path / "p", tmp_path / "p-base", replace(config, patch=2), show_progress=False)
    other = VQModel(**(dict(vq.config) | {"num_vq_embeddings": 8}))  # same shape, other weights
    other.save_pretrained(tmp_path / "vq2")
    with pytest.raises(StyleDropError, match="holds another tokenizer"):
        pretrain_base(data, tmp_path / "w", tmp_path / "w-base", replace(config, tokenizer=str(tmp_path / "vq2")),
                      show_progress=False)


def test_resume_refuses_another_recipe_but_takes_other_machine_settings(tmp_path, fake_packages):
    data = tmp_path / "emoji"
    build(data, fake_packages)
    config = PretrainConfig(steps=2, **TINY)
    pretrain_base(data, tmp_path / "w", tmp_path / "w-base", config, show_progress=False)
    with pytest.raises(StyleDropError, match=r"the recipe changed since it was written \(lr\); .*--restart"):
        pretrain_base(data, tmp_path / "w", tmp_path / "w-base", replace(config, steps=4, lr=5e-4), show_progress=False)
    moved = replace(config, steps=4, checkpoint_every=1)  # more steps, another checkpoint cadence
    assert pretrain_base(data, tmp_path / "w", tmp_path / "w-base", moved, show_progress=False)["steps"] == 4


def test_style_pooled_text_is_saved_with_the_base(tmp_path, fake_packages):
    """pooled_text="style": the adaptive norms read the caption's style words alone, in training and
    in every later use of the base, since the folder's text encoder config keeps it."""
    data = tmp_path / "emoji"
    build(data, fake_packages)
    pretrain_base(data, tmp_path / "w", tmp_path / "w-base", PretrainConfig(steps=1, **(TINY | {"pooled_text": "style"})),
                  show_progress=False)
    encoder = load_base(tmp_path / "w-base").text_encoder
    assert encoder.pooled == "style"
    prompts = ["A cow in fluent flat style", "A piano in fluent flat style", "A cow in noto style", "A cow"]
    got = encoder.encode(prompts)
    whole = type(encoder)(max_length=encoder.max_length)  # pooled over the whole text it is given
    assert whole.pooled == "caption"
    words = whole.encode(["fluent flat", "fluent flat", "noto", ""])
    assert torch.allclose(got.pooled, words.pooled)  # the style words' vector: equal across contents
    assert not torch.allclose(got.states[0], got.states[1])  # the token states still read the content
    assert torch.allclose(got.pooled[0], got.pooled[1]) and not torch.allclose(got.pooled[0], got.pooled[2])
    with pytest.raises(StyleDropError, match="pooled"):
        type(encoder)(pooled="words")


def test_many_prompts_encode_in_chunks_as_in_one_batch(monkeypatch):
    """Pretraining encodes every caption at once; in chunks the result is the same, in the same order."""
    from styledrop.base.text import minilm

    prompts = [f"A {noun} in {style} style" for noun in ("cow", "dog", "piano") for style in ("noto", "fluent flat")]
    encoder = minilm.MiniLMTextEncoder(max_length=16, pooled="style")
    whole = encoder.encode(prompts)
    monkeypatch.setattr(minilm, "CHUNK", 4)  # 6 prompts -> chunks of 4 and 2; 2 style phrases -> one chunk
    chunked = encoder.encode(prompts)
    assert chunked.states.shape == whole.states.shape == (6, 16, 384)
    assert torch.allclose(chunked.states, whole.states, atol=1e-5)
    assert torch.allclose(chunked.pooled, whole.pooled, atol=1e-5)
