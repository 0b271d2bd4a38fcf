"""The command line on a tiny base: train then generate, info, settings precedence, and every
bad input refused with one line naming the file or value (exit 2, no traceback)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from styledrop.adapters.io import load_adapter_file
from styledrop.cli import main, style_descriptor
from styledrop.errors import StyleDropError


@pytest.fixture()
def style_png(tmp_path):
    pixels = np.zeros((20, 24, 3), np.uint8)
    pixels[:10] = (200, 30, 30)
    pixels[10:] = (30, 30, 200)
    path = tmp_path / "style.png"
    Image.fromarray(pixels).save(path)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_then_generate_then_info(tiny_base_dir, style_png, tmp_path, capsys):
    adapter = tmp_path / "v.safetensors"
    code, out, err = run(capsys, "train", "--base", tiny_base_dir, "--image", style_png, "--caption",
                         "A flag in [V] style", "--out", adapter, "--steps", 6, "--lr", 0.01, "--checkpoint-every", 3)
    assert code == 0, err
    assert "trainable parameters" in out and adapter.exists()
    assert json.loads((tmp_path / "v.train.json").read_text())["steps"] == 6

    images = tmp_path / "images"
    code, out, err = run(capsys, "generate", "--base", tiny_base_dir, "--adapter", adapter, "--prompt",
                         "A cow in [V] style", "--prompt", "A piano in [V] style", "--num-images", 2, "--steps", 4,
                         "--seed", 5, "--out", images)
    assert code == 0, err
    record = json.loads((images / "generation.json").read_text())
    assert [r["seed"] for r in record["images"]] == [5, 6, 7, 8]
    assert record["adapters"]["style"]["base_hash"] == record["base"]["hash"]
    assert record["adapters"]["style"]["style_descriptor"] == "[V]"  # `styledrop score` leaves it out of text scores
    assert len(list(images.glob("0*.png"))) == 4 and (images / "grid.png").exists()

    # any image can be redrawn alone from its prompt and seed
    again = tmp_path / "again"
    assert run(capsys, "generate", "--base", tiny_base_dir, "--adapter", adapter, "--prompt", "A piano in [V] style",
               "--steps", 4, "--seed", 8, "--out", again)[0] == 0
    first = np.asarray(Image.open(images / record["images"][3]["file"]))
    assert np.array_equal(first, np.asarray(Image.open(next(again.glob("0000-*.png")))))

    code, out, _ = run(capsys, "info", adapter)
    info = json.loads(out)
    assert code == 0 and info["kind"] == "styledrop" and info["style_descriptor"] == "[V]"
    assert info["captions"] == ["A flag in [V] style"] and info["training"]["steps"] == 6
    code, out, _ = run(capsys, "info", tiny_base_dir)
    assert code == 0 and json.loads(out)["text_encoder"] == "clip"


def test_settings_precedence_defaults_toml_flags(tiny_base_dir, style_png, tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text("[train]\nsteps = 3\nrank = 2\nlr = 0.001\n")
    adapter = tmp_path / "a.safetensors"
    code, _, err = run(capsys, "train", "--base", tiny_base_dir, "--image", style_png, "--caption", "A x in [V] style",
                       "--out", adapter, "--config", toml, "--steps", 2)
    assert code == 0, err
    training = json.loads((tmp_path / "a.train.json").read_text())
    assert (training["steps"], training["rank"], training["lr"], training["batch_size"]) == (2, 2, 0.001, 8)


def test_generate_uses_the_bases_sampling_file_under_the_flags(tiny_base_dir, tmp_path, capsys):
    import shutil

    base = tmp_path / "base"
    shutil.copytree(tiny_base_dir, base)
    (base / "sampling.json").write_text(json.dumps({"settings": {"content_scale": 1.5, "temperature": 2.0,
                                                                   "style_only_scale": 2.0}}))
    out = tmp_path / "images"
    code, _, err = run(capsys, "generate", "--base", base, "--prompt", "A cow in noto style", "--steps", 2,
                       "--temperature", 3, "--token-temperature", 0.5, "--style-only-from", 0.5, "--refine-passes", 2, "--out", out)
    assert code == 0, err
    used = json.loads((out / "config.json").read_text())
    assert (used["content_scale"], used["temperature"], used["steps"]) == (1.5, 3.0, 2)
    assert (used["token_temperature"], used["style_only_scale"], used["style_only_from"]) == (0.5, 2.0, 0.5)
    assert (used["refine_passes"], used["refine_share"]) == (2, 0.25)
    code, _, err = run(capsys, "generate", "--base", base, "--prompt", "A cow", "--style-only-from", 2, "--out", out)
    assert code == 2 and "style_only_from" in err and "Traceback" not in err

    (base / "sampling.json").write_text(json.dumps({"settings": {"content_scael": 1.5}}))
    code, _, err = run(capsys, "generate", "--base", base, "--prompt", "A cow", "--out", out)
    assert code == 2 and "sampling.json" in err and "content_scale" in err and "Traceback" not in err
    (base / "sampling.json").write_text("[1, 2]")
    code, _, err = run(capsys, "generate", "--base", base, "--prompt", "A cow", "--out", out)
    assert code == 2 and "sampling.json" in err and "Traceback" not in err


def test_drawing_with_a_style_adapter_takes_the_bases_styled_settings(tiny_base_dir, style_png, tmp_path, capsys):
    import shutil

    base = tmp_path / "base"
    shutil.copytree(tiny_base_dir, base)
    (base / "sampling.json").write_text(json.dumps({"settings": {"content_scale": 1.5, "temperature": 2.0},
                                                    "with_style_adapter": {"content_scale": 4.0}}))
    adapter = tmp_path / "v.safetensors"
    assert run(capsys, "train", "--base", base, "--image", style_png, "--caption", "A x in [V] style", "--out", adapter,
               "--steps", 2)[0] == 0
    common = ["generate", "--base", base, "--prompt", "A cow in [V] style", "--steps", 2]
    for extra, content_scale in (([], 1.5), (["--adapter", adapter], 4.0),
                                 (["--adapter", adapter, "--content-scale", 0.5], 0.5)):
        out = tmp_path / f"images-{len(extra)}"
        code, _, err = run(capsys, *common, *extra, "--out", out)
        assert code == 0, err
        used = json.loads((out / "config.json").read_text())
        assert (used["content_scale"], used["temperature"]) == (content_scale, 2.0), extra
    (base / "sampling.json").write_text(json.dumps({"settings": {}, "with_style_adapter": [1]}))
    code, _, err = run(capsys, *common, "--out", tmp_path / "bad")
    assert code == 2 and "with_style_adapter" in err and "Traceback" not in err


def test_generating_again_into_a_folder_replaces_the_earlier_drawings_only(tiny_base_dir, tmp_path, capsys):
    out = tmp_path / "out"
    common = ["generate", "--base", tiny_base_dir, "--steps", 2, "--out", out]
    assert run(capsys, *common, "--prompt", "A cow", "--num-images", 2)[0] == 0
    first = {r["file"] for r in json.loads((out / "generation.json").read_text())["images"]}
    (out / "notes.txt").write_text("mine")  # not a drawing of styledrop's: it stays
    assert run(capsys, *common, "--prompt", "A piano")[0] == 0
    second = {r["file"] for r in json.loads((out / "generation.json").read_text())["images"]}
    assert len(first) == 2 and len(second) == 1 and not first & second
    assert {p.name for p in out.iterdir()} == second | {"grid.png", "generation.json", "config.json", "notes.txt"}


def test_train_points_to_the_style_words_a_base_knows(tiny_base_dir, style_png, tmp_path, capsys):
    import shutil

    from styledrop.describe import write_style_words

    base = tmp_path / "base"
    shutil.copytree(tiny_base_dir, base)
    common = ["train", "--base", base, "--image", style_png, "--steps", 1]
    code, _, err = run(capsys, *common, "--caption", "A x in [V] style", "--out", tmp_path / "a.safetensors")
    assert code == 0 and "describe" not in err  # no styles.json: nothing to point to
    write_style_words(base, ["noto", "noto outlined"])
    code, _, err = run(capsys, *common, "--caption", "A kiwi in [V] style", "--out", tmp_path / "b.safetensors")
    assert code == 0 and "noto, noto outlined" in err and f"describe --image {style_png} --content 'kiwi'" in err
    code, _, err = run(capsys, *common, "--caption", "A kiwi in noto outlined style", "--out", tmp_path / "c.safetensors")
    assert code == 0 and "describe" not in err


def test_train_uses_the_bases_training_file_under_toml_and_flags(tiny_base_dir, style_png, tmp_path, capsys):
    import shutil

    base = tmp_path / "base"
    shutil.copytree(tiny_base_dir, base)
    (base / "training.json").write_text(json.dumps({"why": "measured", "settings": {"steps": 3, "lr": 0.01, "rank": 2}}))
    toml = tmp_path / "s.toml"
    toml.write_text("[train]\nrank = 3\n")
    common = ["train", "--base", base, "--image", style_png, "--caption", "A x in [V] style"]
    code, _, err = run(capsys, *common, "--out", tmp_path / "a.safetensors", "--config", toml, "--lr", 0.02)
    assert code == 0, err
    used = json.loads((tmp_path / "a.train.json").read_text())
    assert (used["steps"], used["lr"], used["rank"], used["batch_size"]) == (3, 0.02, 3, 8)  # file, flag, TOML, default
    code, out, _ = run(capsys, "info", base)
    assert code == 0 and json.loads(out)["training_defaults"] == {"steps": 3, "lr": 0.01, "rank": 2}
    code, out, _ = run(capsys, "info", tiny_base_dir)  # no file: the paper's defaults, said so
    assert code == 0 and "paper" in json.loads(out)["training_defaults"]

    (base / "training.json").write_text(json.dumps({"settings": {"stpes": 3}}))
    code, _, err = run(capsys, *common, "--out", tmp_path / "b.safetensors")
    assert code == 2 and "training.json" in err and "steps" in err and "Traceback" not in err
    assert not (tmp_path / "b.safetensors").exists() and not (tmp_path / "b.train.json").exists()


def test_resume_flag_continues_a_run(tiny_base_dir, style_png, tmp_path, capsys):
    common = ["train", "--base", tiny_base_dir, "--image", style_png, "--caption", "A x in [V] style",
              "--out", tmp_path / "a.safetensors", "--checkpoint-every", 2, "--lr", 0.01]
    assert run(capsys, *common, "--steps", 2, "--keep-checkpoint")[0] == 0
    assert "rng" in load_file(str(tmp_path / "a.ckpt.safetensors"))
    assert run(capsys, *common, "--steps", 4, "--resume")[0] == 0
    assert load_adapter_file(tmp_path / "a.safetensors").training["steps"] == 4
    assert not (tmp_path / "a.ckpt.safetensors").exists()  # this run ended without --keep-checkpoint


BAD = {
    "missing image": (["--image", "{tmp}/nope.png"], "nope.png"),
    "text as image": (["--image", "{tmp}/text.png"], "text.png"),
    "empty caption": (["--image", "{style}", "--caption", "  "], "--caption is empty"),
    "unknown toml key": (["--image", "{style}", "--config", "{tmp}/typo.toml"], "did you mean 'steps'"),
    "two images one caption": (["--image", "{style}", "--image", "{style}", "--caption", "A x in [V] style"],
                               "one caption per image"),
    "no descriptor": (["--image", "{style}", "--caption", "A cow"], "style descriptor"),
    "missing base": (["--image", "{style}", "--base", "{tmp}/nobase"], "nobase"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_train_inputs_exit_2_with_one_line(case, tiny_base_dir, style_png, tmp_path, capsys):
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "typo.toml").write_text("[train]\nstpes = 3\n")
    extra, expected = BAD[case]
    args = [a.format(tmp=tmp_path, style=style_png) for a in extra]
    if "--caption" not in args:
        args += ["--caption", "A cow in [V] style"] * args.count("--image")
    if "--base" not in args:
        args += ["--base", str(tiny_base_dir)]
    code, _, err = run(capsys, "train", *args, "--out", tmp_path / "a.safetensors", "--steps", 1)
    assert code == 2
    assert expected in err and "Traceback" not in err and err.count("\n") == 1, err


def test_bad_adapter_files_are_refused(tiny_base_dir, tmp_path, capsys):
    (tmp_path / "fake.safetensors").write_text("junk")
    for path in [tmp_path / "fake.safetensors", tmp_path / "missing.safetensors"]:
        code, _, err = run(capsys, "generate", "--base", tiny_base_dir, "--adapter", path, "--prompt", "a cow",
                           "--out", tmp_path / "o")
        assert code == 2 and path.name in err and "Traceback" not in err
    code, _, err = run(capsys, "generate", "--base", tiny_base_dir, "--prompt", " ", "--out", tmp_path / "o")
    assert code == 2 and "--prompt" in err


def test_adapter_for_another_base_is_refused(tiny_base_dir, other_base_dir, style_png, tmp_path, capsys):
    adapter = tmp_path / "a.safetensors"
    assert run(capsys, "train", "--base", tiny_base_dir, "--image", style_png, "--caption", "A x in [V] style",
               "--out", adapter, "--steps", 1)[0] == 0
    code, _, err = run(capsys, "generate", "--base", other_base_dir, "--adapter", adapter, "--prompt", "a cow",
                       "--out", tmp_path / "o")
    assert code == 2 and str(tiny_base_dir) in err and str(other_base_dir) in err


def test_hub_id_offline_says_how_to_get_the_files(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = run(capsys, "info", "nobody/no-such-model")
    assert code == 2 and "hf download nobody/no-such-model" in err


def test_style_descriptor_rules():
    assert style_descriptor(["A cow in [V] style", "A pig in [V] style"], None) == "[V]"
    assert style_descriptor(["A cow in watercolor painting style"], None) == "watercolor painting"
    assert style_descriptor(["A cow"], "sks") == "sks"
    with pytest.raises(StyleDropError):
        style_descriptor(["A cow in [V] style", "A pig in [W] style"], None)


@pytest.mark.parametrize("kind", ["adain", "full"])
def test_adain_and_full_fine_tune_train_generate_and_info(kind, tiny_base_dir, style_png, tmp_path, capsys):
    from styledrop.base import load_base

    adapter = tmp_path / f"{kind}.safetensors"
    code, out, err = run(capsys, "train", "--base", tiny_base_dir, "--image", style_png, "--caption",
                         "A flag in [V] style", "--out", adapter, "--steps", 4, "--lr", 0.01, "--adapter-kind", kind)
    assert code == 0, err
    base = load_base(tiny_base_dir)
    transformer_parameters = sum(p.numel() for p in base.transformer.parameters())
    saved = load_adapter_file(adapter)
    assert saved.config.kind == kind and saved.base_hash == base.transformer_hash()
    tuned = sum(t.numel() for t in saved.tensors.values())
    assert f"{tuned:,} trainable parameters" in out
    if kind == "full":  # every weight, and they moved
        assert tuned == transformer_parameters and "100.000% of the base" in out
        assert any(not torch.equal(saved.tensors[k], v) for k, v in base.transformer.state_dict().items())
    else:
        assert tuned == 2 * 3 * base.transformer.config.num_hidden_layers * base.transformer.config.hidden_size

    images = tmp_path / "images"
    code, _, err = run(capsys, "generate", "--base", tiny_base_dir, "--adapter", adapter, "--prompt",
                       "A cow in [V] style", "--num-images", 2, "--steps", 3, "--out", images)
    assert code == 0, err
    assert len(list(images.glob("0*.png"))) == 2
    code, out, _ = run(capsys, "info", adapter)
    info = json.loads(out)
    assert code == 0 and info["kind"].startswith(kind) and info["parameters"] == tuned
    assert ("not an adapter" in info["kind"]) == (kind == "full")
    code, out, _ = run(capsys, "info", tiny_base_dir)
    counts = json.loads(out)["trainable_parameters"]
    assert counts["adain"] == (tuned if kind == "adain" else counts["adain"])
    assert counts["full fine-tune (not an adapter)"] == transformer_parameters


def test_style_image_at_scale_zero_draws_plain_generation(tiny_base_dir, style_png, tmp_path, capsys):
    common = ["generate", "--base", tiny_base_dir, "--prompt", "A cow in [V] style", "--prompt", "A piano",
              "--steps", 4, "--seed", 2]
    assert run(capsys, *common, "--out", tmp_path / "plain")[0] == 0
    shared = ["--style-image", style_png, "--style-image-caption", "A flag in [V] style"]
    code, _, err = run(capsys, *common, *shared, "--style-image-scale", 0, "--out", tmp_path / "zero")
    assert code == 0, err
    code, _, err = run(capsys, *common, *shared, "--out", tmp_path / "one")
    assert code == 0, err
    record = json.loads((tmp_path / "one" / "generation.json").read_text())
    assert record["style_image"]["caption"] == "A flag in [V] style" and record["sampler"]["style_image_scale"] == 1.0
    pictures = {name: [np.asarray(Image.open(tmp_path / name / r["file"])) for r in record["images"]]
                for name in ("plain", "zero", "one")}
    assert all(np.array_equal(a, b) for a, b in zip(pictures["plain"], pictures["zero"]))
    assert not all(np.array_equal(a, b) for a, b in zip(pictures["plain"], pictures["one"]))


BAD_STYLE_IMAGE = {
    "missing style image": (["--style-image", "{tmp}/nope.png", "--style-image-caption", "A x in [V] style"],
                            "nope.png"),
    "text as style image": (["--style-image", "{tmp}/text.png", "--style-image-caption", "A x in [V] style"],
                            "text.png"),
    "no caption": (["--style-image", "{style}"], "--style-image-caption"),
    "with an adapter": (["--style-image", "{style}", "--style-image-caption", "A x in [V] style",
                         "--adapter", "{tmp}/a.safetensors"], "drop --adapter"),
    "scale without image": (["--style-image-scale", "0.5"], "give --style-image"),
}


@pytest.mark.parametrize("case", BAD_STYLE_IMAGE, ids=list(BAD_STYLE_IMAGE))
def test_bad_style_image_inputs_exit_2_with_one_line(case, tiny_base_dir, style_png, tmp_path, capsys):
    (tmp_path / "text.png").write_text("not an image")
    extra, expected = BAD_STYLE_IMAGE[case]
    args = [a.format(tmp=tmp_path, style=style_png) for a in extra]
    code, _, err = run(capsys, "generate", "--base", tiny_base_dir, "--prompt", "A cow", *args, "--out", tmp_path / "o")
    assert code == 2
    assert expected in err and "Traceback" not in err and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()
