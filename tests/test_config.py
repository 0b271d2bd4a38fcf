"""Settings: defaults < TOML < flags, typed, unknown keys refused with a did-you-mean."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Literal, Optional

import pytest

from styledrop.config import (
    check_keys,
    check_setting,
    load_settings,
    save_settings,
    setting,
    settings_from_dict,
    settings_to_dict,
)
from styledrop.errors import StyleDropError


@dataclasses.dataclass(frozen=True)
class Train:
    steps: int = 100
    lr: float = 1e-4
    name: str = "run"
    bf16: bool = False
    out: Path = Path("runs")
    seed: Optional[int] = None
    style_image: Path | None = None
    schedule: Literal["cosine", "linear"] = "cosine"
    resolution: tuple[int, ...] = (256, 256)
    prompts: list[str] = dataclasses.field(default_factory=list)
    crop: tuple[int, str] = (0, "centre")


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def error(*args, **kwargs) -> str:
    with pytest.raises(StyleDropError) as info:
        load_settings(Train, *args, **kwargs)
    return str(info.value)


def test_defaults_only():
    assert load_settings(Train) == Train()


def test_precedence_defaults_then_toml_then_flags(tmp_path):
    path = toml(tmp_path, 'steps = 5\nlr = 0.5\nname = "from-file"\n')
    settings = load_settings(Train, path, {"steps": 7, "name": None, "bf16": True})
    assert settings.steps == 7  # flag beats file
    assert settings.lr == 0.5  # file beats default
    assert settings.name == "from-file"  # a None flag is "not given"
    assert settings.bf16 is True
    assert settings.out == Path("runs")  # default


def test_given_defaults_sit_between_the_class_defaults_and_the_file(tmp_path):
    path = toml(tmp_path, "lr = 0.5\n")
    settings = load_settings(Train, path, {"steps": 7}, defaults={"steps": 3, "lr": 0.25, "name": "base"})
    assert (settings.steps, settings.lr, settings.name) == (7, 0.5, "base")
    message = error(defaults={"stpes": 3}, defaults_where="models/x/sampling.json")
    assert "models/x/sampling.json" in message and "steps" in message


def test_section(tmp_path):
    path = toml(tmp_path, "[train]\nsteps = 3\n[sample]\nsteps = 99\nanything = 1\n")
    assert load_settings(Train, path, section="train").steps == 3
    assert load_settings(Train, toml(tmp_path, "[sample]\nsteps = 1\n"), section="train") == Train()


def test_missing_section_with_a_close_table_name(tmp_path):
    path = toml(tmp_path, "[trian]\nsteps = 3\n")
    message = error(path, section="train")  # the typo is the file's table, not the [train] we look for
    assert message == f"unknown table [trian] in {path}; did you mean [train]? rename it to [train]"


def test_top_level_key_when_a_section_is_expected(tmp_path):
    path = toml(tmp_path, "steps = 3\n[train]\nlr = 0.1\n")
    message = error(path, section="train")
    assert "'steps'" in message and str(path) in message and "under [train]" in message


def test_unknown_key_top_level(tmp_path):
    path = toml(tmp_path, "stpes = 3\n")
    assert error(path) == f"unknown setting 'stpes' in {path}; did you mean 'steps'?"


def test_unknown_key_in_section(tmp_path):
    path = toml(tmp_path, "[train]\nstpes = 3\n")
    message = error(path, section="train")
    assert message == f"unknown setting 'stpes' in {path} [train]; did you mean 'steps'?"


def test_unknown_key_without_close_match_lists_valid_keys(tmp_path):
    message = error(toml(tmp_path, "zzzzzz = 1\n"))
    assert "unknown setting 'zzzzzz'" in message and "valid settings: steps, lr, name" in message


def test_nested_table_is_an_unknown_key(tmp_path):
    path = toml(tmp_path, "[train]\nsteps = 1\n[train.optimizer]\nbeta = 0.9\n")
    assert "unknown setting 'optimizer'" in error(path, section="train")
    assert "unknown setting 'train'" in error(path)  # no section: [train] is not a field


def test_unknown_flag():
    assert "did you mean 'steps'" in error(overrides={"step": 3})


def test_check_keys_directly():
    check_keys(Train, ["steps", "lr"], where="x")
    with pytest.raises(StyleDropError, match="'lrr' in somewhere; did you mean 'lr'"):
        check_keys(Train, ["lrr"], where="somewhere")


@pytest.mark.parametrize(
    "line, expected",
    [
        ('steps = "ten"', "an integer"),
        ("steps = true", "an integer"),  # bool is not an int
        ("steps = 2.5", "an integer"),  # non-integral float
        ('lr = "fast"', "a finite number"),
        ("lr = false", "a finite number"),
        ("lr = nan", "a finite number"),  # TOML (and argparse's float) accept nan and inf; JSON cannot hold them
        ("lr = -inf", "a finite number"),
        ("name = 3", "a string"),
        ("bf16 = 1", "true or false"),  # only real booleans
        ('bf16 = "yes"', "true or false"),
        ("out = 3", "a path"),
        ('resolution = [256, "x"]', "a list, each item an integer"),
        ("resolution = 256", "a list"),
        ("prompts = [1]", "a string"),
        ('crop = [0, "centre", 1]', "of 2 items"),
    ],
)
def test_wrong_types(tmp_path, line, expected):
    path = toml(tmp_path, line + "\n")
    message = error(path)
    key = line.split(" = ")[0]
    assert f"setting '{key}' in {path}" in message and expected in message
    assert "got" in message  # names the value


def test_coercions(tmp_path):
    path = toml(tmp_path, 'steps = 4.0\nlr = 1\nout = "a/b"\nresolution = [64, 32]\n')
    settings = load_settings(Train, path)
    assert settings.steps == 4 and type(settings.steps) is int
    assert settings.lr == 1.0 and type(settings.lr) is float
    assert settings.out == Path("a/b")
    assert settings.resolution == (64, 32)


def test_literal(tmp_path):
    assert load_settings(Train, toml(tmp_path, 'schedule = "linear"\n')).schedule == "linear"
    message = error(toml(tmp_path, 'schedule = "cosin"\n'))
    assert "'schedule'" in message and "one of 'cosine', 'linear'" in message


def test_optional(tmp_path):
    settings = load_settings(Train, toml(tmp_path, 'seed = 3\nstyle_image = "s.png"\n'))
    assert settings.seed == 3 and settings.style_image == Path("s.png")
    assert "an integer or none (leave it out)" in error(toml(tmp_path, 'seed = "x"\n'))


def test_tuple_and_list(tmp_path):
    path = toml(tmp_path, 'resolution = [1, 2, 3]\nprompts = ["a cat"]\ncrop = [4, "top"]\n')
    settings = load_settings(Train, path)
    assert settings.resolution == (1, 2, 3)
    assert settings.prompts == ["a cat"]
    assert settings.crop == (4, "top")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    message = error(path)
    assert "config file not found" in message and str(path) in message


def test_bad_toml(tmp_path):
    path = toml(tmp_path, "steps = 1\nlr = = 2\n")
    message = error(path)
    assert str(path) in message and "line 2" in message


def test_round_trip(tmp_path):
    original = Train(steps=7, lr=0.25, out=Path("x/y"), seed=3, style_image=Path("s.png"),
                     schedule="linear", resolution=(64, 64), prompts=["a", "b"], crop=(1, "top"))
    path = tmp_path / "run" / "config.json"
    save_settings(original, path)
    text = path.read_text()
    data = json.loads(text)
    assert list(data) == sorted(data) and text.startswith('{\n  "bf16"')
    assert data["out"] == "x/y" and data["resolution"] == [64, 64]
    assert data == settings_to_dict(original)
    assert load_settings(Train, overrides=data) == original
    assert settings_from_dict(Train, data, where=str(path)) == original
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]  # no temp files left


def test_settings_from_dict_keeps_nulls():
    @dataclasses.dataclass
    class WithSeed:
        seed: int | None = 0

    assert settings_from_dict(WithSeed, {"seed": None}, where="config.json").seed is None
    assert load_settings(WithSeed, overrides={"seed": None}).seed == 0  # None = "flag not given"


@dataclasses.dataclass(frozen=True)
class Bounded:
    steps: int = setting(10, at_least=1)
    lr: float = setting(0.1, above=0)
    dropout: float = setting(0.1, at_least=0, at_most=1)
    seed: int | None = setting(None, at_least=0)


@pytest.mark.parametrize("flags, expected", [
    ({"steps": 0}, "'steps' in the command-line flags must be at least 1, got 0"),
    ({"lr": 0.0}, "'lr' in the command-line flags must be above 0, got 0.0"),
    ({"dropout": 1.5}, "'dropout' in the command-line flags must be at least 0 and at most 1, got 1.5"),
    ({"seed": -1}, "'seed' in the command-line flags must be at least 0, got -1"),
])
def test_bounds_are_checked_in_every_layer(tmp_path, flags, expected):
    with pytest.raises(StyleDropError, match=expected):
        load_settings(Bounded, overrides=flags)
    (key, value), = flags.items()
    path = toml(tmp_path, f"{key} = {value}\n")
    with pytest.raises(StyleDropError, match=f"'{key}' in {path} must be"):
        load_settings(Bounded, path)
    with pytest.raises(StyleDropError, match="in config.json must be"):
        settings_from_dict(Bounded, flags, where="config.json")


def test_bounds_accept_their_edges_and_none():
    assert load_settings(Bounded, overrides={"steps": 1, "dropout": 1.0, "lr": 1e-9}) == Bounded(1, 1e-9, 1.0)
    assert settings_from_dict(Bounded, {"seed": None}, where="x").seed is None
    assert check_setting(Bounded, "steps", 3, where="--steps") == 3
    with pytest.raises(StyleDropError, match="'steps' in --steps must be at least 1, got 0"):
        check_setting(Bounded, "steps", 0, where="--steps")
