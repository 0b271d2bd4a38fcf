"""The GPU recipe's transport (scripts/gpu_pretrain.py): a pruned text encoder that encodes like the
full one, and pack -> train -> unpack giving the base that training wrote, in any number of parts."""

import importlib.util
import json
from argparse import Namespace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from styledrop.base import load_base
from styledrop.base.text.minilm import MiniLMTextEncoder
from styledrop.pretraining.pretrain import PretrainConfig, prepare_training_set

from .test_emoji_dataset import build
from .test_pretrain import TINY

SCRIPT = Path(__file__).parents[2] / "scripts" / "gpu_pretrain.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_pretrain", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pruned_minilm_encodes_known_prompts_exactly():
    script = load_script()
    pruned_weights, PrunedMiniLM = script.pruned_weights, script.PrunedMiniLM
    encoder = MiniLMTextEncoder(max_length=16)
    prompts = ["A cow in twemoji outlined style", "", "A musical keyboard in noto style"]
    full, batch = encoder.encode(prompts), encoder.tokenize(prompts)
    weights, config = pruned_weights(encoder, batch["input_ids"], torch.float32)
    assert len(weights["pruned/ids"]) < 30  # a few word pieces instead of 30,522 rows
    pruned = PrunedMiniLM(weights, config).encode_tokens(batch["input_ids"], batch["attention_mask"], batch=2)
    assert torch.equal(pruned.states, full.states) and torch.equal(pruned.pooled, full.pooled)
    half = PrunedMiniLM(*pruned_weights(encoder, batch["input_ids"])).encode_tokens(**batch)
    assert (half.pooled - full.pooled).abs().max() < 1e-2  # fp16 transport: close, not equal


def test_pack_train_unpack_gives_the_trained_weights(tmp_path, fake_packages, monkeypatch):
    script = load_script()
    data = tmp_path / "emoji"
    build(data, fake_packages)
    tiny = {k: v for k, v in TINY.items() if k != "variants"}
    prepare_training_set(data, tmp_path / "fit", PretrainConfig(**tiny))  # fits the tokenizer
    prepare_training_set(data, tmp_path / "fit16", PretrainConfig(**(tiny | {"codes": 16})))  # a larger one
    runs = tmp_path / "runs.toml"
    table = [tiny | {"name": "a", "steps": 3, "variants": ["grayscale"]},
             tiny | {"name": "b", "steps": 2, "variants": ["grayscale"], "layers": 2},
             tiny | {"name": "c", "steps": 2, "variants": ["grayscale"], "codes": 16,
                     "tokenizer": str(tmp_path / "fit16" / "vqvae")},
             tiny | {"name": "d", "steps": 3, "variants": ["grayscale"], "pooled_text": "style"},  # a's but for pooled
             tiny | {"name": "e", "steps": 3, "variants": ["grayscale"], "style_only_caption": 0.5}]  # more prompts

    def write(table):
        runs.write_text("".join("[[run]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in run.items())
                                for run in table))

    write(table)
    pack, out = tmp_path / "pack", tmp_path / "out"
    script.cmd_pack(Namespace(data=data, tokenizer=tmp_path / "fit" / "vqvae", runs=runs, out=pack))
    assert len(list(pack.glob("pack-*.safetensors"))) == 3  # a, b and d share their data; c and e have their own

    monkeypatch.setattr(script, "PART_BYTES", 4096)  # force many parts
    for name in ("a", "b", "c", "d", "e"):
        script.cmd_train_one(Namespace(pack=pack, out=out, work=str(tmp_path / "gpu"), name=name))
    assert len(list(out.glob("b.part*.safetensors"))) > 2
    script.cmd_unpack(Namespace(pack=pack, weights=out, out=tmp_path / "bases"))
    assert load_base(tmp_path / "bases" / "a" / "base").image_tokenizer.codebook_size == 8
    larger = load_base(tmp_path / "bases" / "c" / "base")
    assert larger.image_tokenizer.codebook_size == 16 and larger.mask_id == 16
    assert load_base(tmp_path / "bases" / "d" / "base").text_encoder.pooled == "style"
    assert load_base(tmp_path / "bases" / "a" / "base").text_encoder.pooled == "caption"
    a, d, e = (load_file(str(tmp_path / "gpu" / n / "transformer.ckpt.safetensors")) for n in "ade")
    assert not all(torch.equal(a[k], d[k]) for k in a if k.startswith("weights/"))  # same batches, other pooled text
    assert not all(torch.equal(a[k], e[k]) for k in a if k.startswith("weights/"))  # style-only captions drawn

    write([table[2] | {"codes": 8}])  # a tokenizer that does not match the run's codes is refused before packing
    with pytest.raises(SystemExit, match="codes = 8 but its tokenizer .* has 16"):
        script.cmd_pack(Namespace(data=data, tokenizer=tmp_path / "fit" / "vqvae", runs=runs, out=tmp_path / "p2"))

    trained = load_file(str(tmp_path / "gpu" / "b" / "transformer.ckpt.safetensors"))
    written = load_file(str(tmp_path / "bases" / "b" / "base" / "transformer" / "diffusion_pytorch_model.safetensors"))
    assert written.keys() == {k.removeprefix("weights/") for k in trained if k.startswith("weights/")}
    assert all(torch.equal(v, trained[f"weights/{k}"].half()) for k, v in written.items())
    base = load_base(tmp_path / "bases" / "b" / "base")
    assert base.transformer.config.num_hidden_layers == 2 and base.transformer.position_embedding is not None
