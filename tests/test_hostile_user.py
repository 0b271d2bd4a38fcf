"""The hostile-user pass, case by case, on the tiny random base: each command below is
refused with exit 2 and one line that names the file, the value and the fix (no traceback), before
any work, and leaves every file as it was: nothing lost, nothing mislabeled, nothing left behind."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from styledrop.adapters.io import load_adapter_file
from styledrop.cli import main

CAPTION = "A watermelon in [V] style"


def picture(path: Path, colour: tuple[int, int, int]) -> Path:
    pixels = np.zeros((20, 24, 3), np.uint8)
    pixels[:10] = colour
    pixels[10:] = (30, 30, 200)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture()
def style_png(tmp_path) -> Path:
    return picture(tmp_path / "w.png", (200, 30, 30))


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def train(capsys, base, image, out, *flags, caption=CAPTION):
    """`styledrop train --base TB --image W --caption 'A watermelon in [V] style' --out OUT FLAGS`."""
    return run(capsys, "train", "--base", base, "--image", image, "--caption", caption, "--out", out, *flags)


def refused(result: tuple[int, str, str], *names) -> str:
    """Assert exit 2 with exactly one error line, no traceback, naming each of `names`; return the line."""
    code, _, err = result
    errors = [line for line in err.splitlines() if line.startswith("styledrop: error: ")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    for name in names:
        assert str(name) in errors[0], (name, errors[0])
    return errors[0]


def files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: equal before and after means nothing changed or appeared."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture()
def no_work(monkeypatch):
    """Fail the test if the command gets as far as loading the base model."""
    def load_base(*args, **kwargs):
        raise AssertionError("the command loaded the base before refusing")

    monkeypatch.setattr("styledrop.base.load_base", load_base)


@pytest.fixture()
def no_sampling(monkeypatch):
    """Fail the test if the command gets as far as sampling."""
    def generate(*args, **kwargs):
        raise AssertionError("the command sampled before refusing")

    monkeypatch.setattr("styledrop.pipeline.StyleDropPipeline.generate", generate)


@pytest.fixture()
def adapter(tiny_base_dir, style_png, tmp_path, capsys) -> Path:
    """A 4-step adapter with its checkpoint (every 2 steps, kept) in tmp_path/a.safetensors."""
    out = tmp_path / "a.safetensors"
    code, _, err = train(capsys, tiny_base_dir, style_png, out, "--steps", 4, "--checkpoint-every", 2, "--lr", 0.01,
                         "--keep-checkpoint")
    assert code == 0, err
    return out


def rewrite_adapter(source: Path, target: Path, *, tensors=None, **metadata) -> Path:
    """A copy of an adapter file with some tensors or metadata values replaced (a crafted file)."""
    with safe_open(str(source), framework="pt") as handle:
        meta = dict(handle.metadata())
    save_file({**load_file(str(source)), **(tensors or {})}, str(target), metadata={**meta, **metadata})
    return target


# --- 1-5: data loss and mislabeling ---------------------------------------------------------


def test_1_a_fresh_run_refuses_to_replace_an_earlier_runs_checkpoint(adapter, tiny_base_dir, style_png, tmp_path,
                                                                     capsys, no_work):
    before = files(tmp_path)
    refused(train(capsys, tiny_base_dir, style_png, adapter, "--steps", 2),
            "a.ckpt.safetensors", "--resume", "--overwrite")
    assert files(tmp_path) == before


def test_1_overwrite_starts_over(adapter, tiny_base_dir, style_png, capsys):
    assert train(capsys, tiny_base_dir, style_png, adapter, "--steps", 2, "--overwrite")[0] == 0
    assert load_adapter_file(adapter).training["steps"] == 2


def test_2_out_never_replaces_a_file_that_is_not_an_adapter(tiny_base_dir, style_png, tmp_path, capsys, no_work):
    notes = tmp_path / "notes.txt"
    notes.write_text("precious\n")
    before = files(tmp_path)
    refused(train(capsys, tiny_base_dir, style_png, notes, "--steps", 3), notes, "not a styledrop adapter", "--overwrite")
    refused(train(capsys, tiny_base_dir, style_png, notes, "--steps", 3, "--resume"), notes, "--overwrite")
    assert files(tmp_path) == before


def test_2_an_adapter_without_its_checkpoint_is_not_replaced_either(adapter, tiny_base_dir, style_png, tmp_path,
                                                                   capsys, no_work):
    (tmp_path / "a.ckpt.safetensors").unlink()
    before = files(tmp_path)
    for resume in ([], ["--resume"]):
        refused(train(capsys, tiny_base_dir, style_png, adapter, "--steps", 3, *resume), adapter, "--overwrite")
    assert files(tmp_path) == before


def test_2_a_finished_run_removed_its_checkpoint_and_resume_says_so(tiny_base_dir, style_png, tmp_path, capsys):
    out = tmp_path / "v.safetensors"
    assert train(capsys, tiny_base_dir, style_png, out, "--steps", 2, "--checkpoint-every", 1, "--lr", 0.01)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.safetensors", "v.train.json", "w.png"]
    before = files(tmp_path)
    refused(train(capsys, tiny_base_dir, style_png, out, "--steps", 4, "--resume"),
            out, "finished run", "v.ckpt.safetensors", "--keep-checkpoint", "--overwrite")
    assert files(tmp_path) == before


def test_2_a_folder_as_out_is_refused_before_training(tiny_base_dir, style_png, tmp_path, capsys, no_work):
    folder = tmp_path / "folder"
    folder.mkdir()
    refused(train(capsys, tiny_base_dir, style_png, folder, "--steps", 3), folder, "is a folder", "adapter.safetensors")
    assert not any(folder.iterdir())


def test_2_overwrite_replaces_the_file(tiny_base_dir, style_png, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("precious\n")
    assert train(capsys, tiny_base_dir, style_png, notes, "--steps", 2, "--overwrite")[0] == 0
    assert load_adapter_file(notes).training["steps"] == 2


def test_3_resume_refuses_another_image_caption_or_base(adapter, tiny_base_dir, other_base_dir, style_png, tmp_path,
                                                        capsys):
    other_png = picture(tmp_path / "sky.png", (20, 200, 240))
    before = files(tmp_path)
    more = ["--steps", 8, "--checkpoint-every", 2, "--lr", 0.01, "--resume"]
    refused(train(capsys, tiny_base_dir, other_png, adapter, *more), "a.ckpt.safetensors", "other images", "--overwrite")
    refused(train(capsys, tiny_base_dir, style_png, adapter, *more, caption="A sky in [W] style"),
            "captions", repr([CAPTION]), repr(["A sky in [W] style"]), "--overwrite")
    refused(train(capsys, other_base_dir, style_png, adapter, *more), "base", "weights", "--base", "--overwrite")
    assert files(tmp_path) == before
    assert train(capsys, tiny_base_dir, style_png, adapter, *more)[0] == 0  # the same run resumes
    assert load_adapter_file(adapter).training["steps"] == 8


def test_4_resume_with_fewer_steps_than_the_checkpoint_is_refused_not_mislabelled(adapter, tiny_base_dir, style_png,
                                                                                  tmp_path, capsys):
    before = files(tmp_path)
    refused(train(capsys, tiny_base_dir, style_png, adapter, "--steps", 2, "--checkpoint-every", 2, "--lr", 0.01,
                  "--resume"), "a.ckpt.safetensors", "step 4", "2 steps", "4 steps or more")
    assert files(tmp_path) == before


def test_5_the_next_run_clears_temp_files_that_killed_writes_left(adapter, tiny_base_dir, style_png, tmp_path, capsys):
    stale = [tmp_path / ".a.ckpt.safetensors.k1ll3d.tmp", tmp_path / ".a.safetensors.x7.tmp"]
    stale[0].write_bytes(b"\0" * 13_000)  # a half-written checkpoint
    stale[1].write_bytes(b"")
    keep = tmp_path / ".b.safetensors.x7.tmp"  # another target's: not this run's to delete
    keep.write_bytes(b"")
    assert train(capsys, tiny_base_dir, style_png, adapter, "--steps", 6, "--checkpoint-every", 2, "--lr", 0.01,
                 "--resume")[0] == 0
    assert not any(path.exists() for path in stale) and keep.exists()


# --- 6-12: input validation -----------------------------------------------------------------

TRAIN_NUMBERS = {
    "steps 0": (["--steps", "0"], ["'steps'", "at least 1", "got 0"]),
    "steps -5": (["--steps", "-5"], ["'steps'", "at least 1", "got -5"]),
    "lr nan": (["--lr", "nan"], ["'lr'", "a finite number", "got nan"]),
    "lr -1": (["--lr", "-1"], ["'lr'", "above 0", "got -1.0"]),
    "rank 0": (["--rank", "0"], ["'rank'", "at least 1"]),
    "checkpoint-every 0": (["--checkpoint-every", "0"], ["'checkpoint_every'", "at least 1"]),
    "batch-size 0": (["--batch-size", "0"], ["'batch_size'", "at least 1"]),
    "device banana": (["--device", "banana"], ["'banana'", "use auto, cpu, cuda or cuda:N"]),
    "toml lr nan": ("lr = nan", ["'lr'", "t.toml [train]", "a finite number"]),
    "toml steps 0": ("steps = 0", ["'steps'", "t.toml [train]", "at least 1"]),
    "toml cond_dropout 2": ("cond_dropout = 2.0", ["'cond_dropout'", "at most 1"]),
    "toml device banana": ('device = "banana"', ["'banana'"]),
}


@pytest.mark.parametrize("case", TRAIN_NUMBERS, ids=list(TRAIN_NUMBERS))
def test_6_training_numbers_are_refused_before_any_work(case, tiny_base_dir, style_png, tmp_path, capsys, no_work):
    given, names = TRAIN_NUMBERS[case]
    if isinstance(given, str):  # a TOML line
        (tmp_path / "t.toml").write_text(f"[train]\n{given}\n")
        given = ["--config", tmp_path / "t.toml"]
    before = files(tmp_path)
    refused(train(capsys, tiny_base_dir, style_png, tmp_path / "a.safetensors", *given), *names)
    assert files(tmp_path) == before  # no adapter, checkpoint nor stray .train.json


GENERATE_NUMBERS = {
    "num-images 0": (["--num-images", "0"], ["'num_images'", "at least 1"]),
    "num-images -1": (["--num-images", "-1"], ["'num_images'", "got -1"]),
    "batch-size 0": (["--batch-size", "0"], ["'batch_size'", "at least 1"]),
    "steps 0": (["--steps", "0"], ["'steps'", "at least 1"]),
    "style-scale nan": (["--style-scale", "nan"], ["'style_scale'", "a finite number", "got nan"]),
    "style-scale inf": (["--style-scale", "inf"], ["'style_scale'", "got inf"]),
    "content-scale nan": (["--content-scale", "nan"], ["'content_scale'", "a finite number"]),
    "token-temperature 0": (["--token-temperature", "0"], ["'token_temperature'", "above 0"]),
    "temperature nan": (["--temperature", "nan"], ["'temperature'", "a finite number"]),
    "device banana": (["--device", "banana"], ["'banana'"]),
}


@pytest.mark.parametrize("case", GENERATE_NUMBERS, ids=list(GENERATE_NUMBERS))
def test_7_generation_numbers_are_refused_before_sampling(case, tiny_base_dir, tmp_path, capsys, no_sampling):
    given, names = GENERATE_NUMBERS[case]
    refused(run(capsys, "generate", "--base", tiny_base_dir, "--prompt", "A cow", "--out", tmp_path / "o", *given),
            *names)
    assert not (tmp_path / "o").exists()  # no config.json with NaN in it, nor anything else


def test_8_an_existing_file_as_out_folder_is_refused_before_sampling(tiny_base_dir, tmp_path, capsys, no_sampling):
    taken = tmp_path / "taken"
    taken.write_text("precious\n")
    for out in (taken, taken / "images"):
        refused(run(capsys, "generate", "--base", tiny_base_dir, "--prompt", "A cow", "--out", out),
                out, "is not a folder", "--out")
    assert taken.read_text() == "precious\n"


def test_8_a_read_only_out_folder_is_refused_before_sampling(tiny_base_dir, tmp_path, capsys, no_sampling):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    out = read_only / "images"
    if os.geteuid() == 0:  # root writes through permissions; a kernel file system refuses even root
        out = Path("/sys/styledrop-images")
    refused(run(capsys, "generate", "--base", tiny_base_dir, "--prompt", "A cow", "--out", out),
            out, "not writable", "--out")
    assert not out.exists()


@pytest.mark.parametrize("craft, names", [
    ({"tensors": "nan"}, ["holds NaN or infinite values", "retrain"]),
    ({"adapter_config": {"rank": -3}}, ["'rank'", "at least 1", "got -3"]),
    ({"adapter_config": {"kind": "evil"}}, ["'kind'", "'styledrop', 'lora'", "got 'evil'"]),
    ({"adapter_config": "[1, 2]"}, ["damaged adapter metadata"]),
])
def test_9_crafted_adapters_are_refused_by_generate_and_info(craft, names, adapter, tiny_base_dir, tmp_path, capsys):
    tensors, metadata = None, {}
    if craft.get("tensors") == "nan":
        name, first = next(iter(load_file(str(adapter)).items()))
        tensors = {name: torch.full_like(first, float("nan"))}
    if isinstance(craft.get("adapter_config"), dict):
        metadata["adapter_config"] = json.dumps(load_adapter_file(adapter).config.to_dict() | craft["adapter_config"])
    elif "adapter_config" in craft:
        metadata["adapter_config"] = craft["adapter_config"]
    crafted = rewrite_adapter(adapter, tmp_path / "crafted.safetensors", tensors=tensors, **metadata)
    refused(run(capsys, "generate", "--base", tiny_base_dir, "--adapter", crafted, "--prompt", "A cow",
                "--out", tmp_path / "o"), crafted, *names)
    refused(run(capsys, "info", crafted), crafted, *names)
    assert not (tmp_path / "o").exists()


def test_9_a_base_with_a_corrupt_model_index_is_refused(tiny_base_dir, style_png, tmp_path, capsys):
    base = tmp_path / "base"
    shutil.copytree(tiny_base_dir, base)
    index = base / "model_index.json"
    index.write_text('{"_class_name": "AmusedPipeline",')
    for argv in (["info", base], ["generate", "--base", base, "--prompt", "A cow", "--out", tmp_path / "o"],
                 ["train", "--base", base, "--image", style_png, "--caption", CAPTION, "--out", tmp_path / "a"]):
        refused(run(capsys, *argv), index, "not valid JSON", "line 1", "restore")
    index.write_text("[1, 2]")
    refused(run(capsys, "info", base), index, "not an object")


def test_9_a_file_that_is_not_a_checkpoint_at_the_checkpoint_path_is_refused(adapter, tiny_base_dir, style_png,
                                                                             tmp_path, capsys):
    fake = tmp_path / "b.ckpt.safetensors"
    shutil.copyfile(adapter, fake)  # an adapter file renamed to the checkpoint's name
    before = files(tmp_path)
    refused(train(capsys, tiny_base_dir, style_png, tmp_path / "b.safetensors", "--steps", 8, "--lr", 0.01,
                  "--checkpoint-every", 2, "--resume"), fake, "not a training checkpoint", "'step'", "delete it")
    assert files(tmp_path) == before
    # and a checkpoint given where an adapter belongs
    checkpoint = tmp_path / "a.ckpt.safetensors"
    refused(run(capsys, "info", checkpoint), checkpoint, "not a styledrop adapter")
    refused(run(capsys, "generate", "--base", tiny_base_dir, "--adapter", checkpoint, "--prompt", "A cow",
                "--out", tmp_path / "o"), checkpoint, "not a styledrop adapter")


def test_9_feedback_pool_counts_are_refused_before_any_work(adapter, style_png, tiny_base_dir, tmp_path, capsys,
                                                            no_work):
    common = ["feedback", "pool", "--base", tiny_base_dir, "--adapter", adapter, "--reference", style_png,
              "--out", tmp_path / "pool"]
    refused(run(capsys, *common, "--images-per-prompt", 0), "--images-per-prompt", "at least 1", "got 0")
    line = refused(run(capsys, *common, "--prompts", 0), "--prompts 0", "1 or more")
    assert "--prompt must be" not in line
    assert not (tmp_path / "pool").exists()


def test_9_feedback_pool_defaults_to_the_recorded_reference_and_refuses_without_one(adapter, tiny_base_dir, tmp_path,
                                                                                   capsys, monkeypatch):
    pool = tmp_path / "pool"
    common = ["feedback", "pool", "--base", tiny_base_dir, "--prompts", 1, "--images-per-prompt", 1, "--steps", 2]
    code, _, err = run(capsys, *common, "--adapter", adapter, "--out", pool)  # no --reference
    assert code == 0, err
    recorded = load_adapter_file(adapter).reference_image()
    assert np.array_equal(np.asarray(Image.open(pool / "reference.png")), np.asarray(recorded))

    monkeypatch.setattr("styledrop.base.load_base", lambda *a, **k: pytest.fail("loaded the base before refusing"))
    old = rewrite_adapter(adapter, tmp_path / "old.safetensors", reference_png="")  # as older adapters are
    damaged = rewrite_adapter(adapter, tmp_path / "damaged.safetensors", reference_png="bm90IGEgcG5n")  # "not a png"
    for step in ("pool", "run"):
        common[1] = step
        out = tmp_path / f"refused-{step}"
        refused(run(capsys, *common, "--adapter", old, "--out", out), old, "no style reference", "--reference")
        refused(run(capsys, *common, "--adapter", damaged, "--out", out), damaged, "damaged", "--reference")
        assert not out.exists()
    code, out, _ = run(capsys, "info", adapter)
    assert code == 0 and json.loads(out)["reference"].startswith(f"{recorded.width}x{recorded.height} PNG")


def test_10_an_over_long_prompt_is_cut_with_one_warning_naming_the_limit(tiny_base_dir, tmp_path, capsys):
    code, _, err = run(capsys, "generate", "--base", tiny_base_dir, "--prompt", "A cow", "--prompt", "x" * 10_000,
                       "--steps", 2, "--out", tmp_path / "o")
    warnings = [line for line in err.splitlines() if line.startswith("styledrop: warning: ")]
    assert code == 0 and "Traceback" not in err, err
    assert len(warnings) == 1 and "16 tokens" in warnings[0] and "1 prompt(s)" in warnings[0], err
    assert len(warnings[0]) < 300  # names the prompt, but not all 10,000 characters of it


def test_11_a_json_file_named_safetensors_is_called_what_it_is(tiny_base_dir, tmp_path, capsys):
    fake = tmp_path / "v.safetensors"
    fake.write_text(json.dumps({"base_id": "x", "rank": 4}))
    for argv in (["info", fake], ["generate", "--base", tiny_base_dir, "--adapter", fake, "--prompt", "A cow",
                                  "--out", tmp_path / "o"]):
        line = refused(run(capsys, *argv), fake, "is not a safetensors file", "styledrop train")
        assert "header too large" not in line


def test_11_a_misspelt_table_is_named_as_the_typo(tiny_base_dir, style_png, tmp_path, capsys, no_work):
    (tmp_path / "t.toml").write_text("[trian]\nsteps = 3\n")
    refused(train(capsys, tiny_base_dir, style_png, tmp_path / "a.safetensors", "--config", tmp_path / "t.toml"),
            "unknown table [trian]", "did you mean [train]?")


def test_11_images_that_are_not_files_say_what_they_are(tiny_base_dir, tmp_path, capsys, no_work):
    loop, fifo = tmp_path / "loop.png", tmp_path / "fifo.png"
    loop.symlink_to(loop)
    os.mkfifo(fifo)
    for image, reason in [(loop, "symbolic links"), (fifo, "is a FIFO"), (Path("/dev/zero"), "is a device")]:
        line = refused(train(capsys, tiny_base_dir, image, tmp_path / "a.safetensors"), image, reason)
        assert "not found" not in line


def test_12_a_full_disk_during_generate_leaves_no_images_without_a_record(tiny_base_dir, tmp_path, capsys, monkeypatch):
    save, calls = Image.Image.save, []

    def full_disk(self, fp, *args, **kwargs):  # the third PNG finds the disk full
        calls.append(fp)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", full_disk)
    out = tmp_path / "o"
    refused(run(capsys, "generate", "--base", tiny_base_dir, "--prompt", "A cow", "--num-images", 3, "--steps", 2,
                "--out", out), "the disk is full", out / "0002-a-cow-s2.png", "free some space", "removed the 2 images")
    assert not out.exists()  # nor the folder it made for them


def test_12_a_full_disk_during_train_is_one_line(tiny_base_dir, style_png, tmp_path, capsys, monkeypatch):
    def full_disk(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr("styledrop.files.save_file", full_disk)
    before = files(tmp_path)
    refused(train(capsys, tiny_base_dir, style_png, tmp_path / "a.safetensors", "--steps", 2, "--checkpoint-every", 1),
            "the disk is full", tmp_path / "a.ckpt.safetensors", "free some space")
    assert files(tmp_path) == before  # no half-written file under a final name, no temp file


# --- 13: terminal injection -----------------------------------------------------------------

EVIL = "evil\x1b[2K\r\nstyledrop: wrote 4 images to out\npass --base /tmp/attacker"


def test_13_strings_from_files_reach_the_terminal_escaped(adapter, tiny_base_dir, tmp_path, capsys):
    crafted = rewrite_adapter(adapter, tmp_path / "crafted.safetensors", base_id=EVIL, base_hash="0" * 16,
                              captions=json.dumps([EVIL]))
    _, _, err = run(capsys, "generate", "--base", tiny_base_dir, "--adapter", crafted, "--prompt", "A cow",
                    "--out", tmp_path / "o")
    line = refused((2, "", err), crafted, "\\x1b[2K\\r\\n", "pass --base 'evil")
    assert "\x1b" not in err and "\r" not in err and err.count("\n") == 1, err
    assert line.endswith("/tmp/attacker'")  # the hint ends inside the quoted value: it cannot pose as our own
    code, out, _ = run(capsys, "info", crafted)
    assert code == 0 and "\x1b" not in out and "\r" not in out
    info = json.loads(out)
    assert info["base_id"] == EVIL and info["captions"] == [EVIL]  # escaped, not lost


def test_9_feedback_run_chains_the_round_and_refuses_the_human_policy(adapter, tiny_base_dir, tmp_path, capsys):
    pool = tmp_path / "pool"
    common = ["feedback", "run", "--base", tiny_base_dir, "--adapter", adapter, "--prompts", 1,
              "--images-per-prompt", 2, "--steps", 2, "--train-steps", 1, "--out", pool]
    refused(run(capsys, *common, "--policy", "human"), "--policy human", "feedback pick")
    assert not pool.exists()
    code, out, err = run(capsys, *common)
    assert code == 0, err
    assert "wrote 2 candidates" in out and (pool / "round2.safetensors").is_file()
    round2 = load_adapter_file(pool / "round2.safetensors")
    assert round2.lineage["round"] == 2 and round2.lineage["policy"] == "clip"
