"""Typed settings: dataclass defaults < a TOML file < command-line flags.

A settings class is a plain (frozen or not) dataclass whose fields carry a type and a default.
`load_settings` fills it from three layers, later ones winning:

    defaults (the dataclass)  <  TOML file (top level, or one table: `[train]`)  <  flags

Every value is checked against its field's annotation, and every key must name a field: a typo
is an error with a did-you-mean, never a silently ignored setting. Supported annotations: int,
float, str, bool, Path, `X | None`, `tuple[X, ...]`, `tuple[X, Y]`, `list[X]`, `Literal[...]` and
unions of these. Coercions are the unsurprising ones only: an int where a float is expected, an
integral float (3.0) where an int is expected, a string or list where a Path or tuple is. Paths
are kept as written (relative paths are relative to the working directory, not to the file).
A float must be finite (TOML and argparse both accept `nan` and `inf`; JSON cannot hold them), and
a field declared with `setting(default, at_least=..., above=..., at_most=...)` must lie in its
bounds, so `--steps 0` or `lr = -1` fail at once, naming the layer they came from.

`settings_to_dict` / `save_settings` write the JSON that sits beside every checkpoint;
`settings_from_dict` reads it back, keeping explicit nulls that `load_settings` would skip.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import operator
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from .errors import StyleDropError
from .files import atomic_write_text

T = TypeVar("T")
_BOUNDS = {"at least": operator.ge, "above": operator.gt, "at most": operator.le}


def setting(default: Any, *, at_least: float | None = None, above: float | None = None,
            at_most: float | None = None) -> Any:
    """A settings field whose value must lie in bounds: `steps: int = setting(1000, at_least=1)`."""
    bounds = {name: limit for name, limit in zip(_BOUNDS, (at_least, above, at_most)) if limit is not None}
    return dataclasses.field(default=default, metadata={"bounds": bounds})


def load_settings(
    cls: type[T],
    toml_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    section: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    defaults_where: str = "the defaults",
) -> T:
    """Build `cls` from its defaults, then `defaults` (e.g. a base model's sampling.json), then the
    TOML file (if any), then `overrides`.

    `overrides` are parsed flag values; a None value means "flag not given" and is skipped.
    With `section`, the file's settings live in that table (`[train]`); other tables are left
    to the commands they belong to.
    """
    values: dict[str, Any] = {}
    if defaults:
        values.update(_check_values(cls, defaults, where=defaults_where))
    if toml_path is not None:
        table, where = _read_table(Path(toml_path), section)
        values.update(_check_values(cls, table, where=where))
    if overrides:
        given = {key: value for key, value in overrides.items() if value is not None}
        values.update(_check_values(cls, given, where="the command-line flags"))
    return cls(**values)


def settings_from_dict(cls: type[T], data: Mapping[str, Any], *, where: str) -> T:
    """Build `cls` from a mapping such as a saved config.json; None values are kept as None."""
    return cls(**_check_values(cls, data, where=where))


def settings_to_dict(obj: Any) -> dict[str, Any]:
    """A settings dataclass as a JSON-ready dict (Paths -> str, tuples -> lists)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"expected a dataclass instance, got {type(obj).__name__}")
    return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def save_settings(obj: Any, path: Path) -> None:
    """Write `obj` as JSON (sorted keys, indent 2) via a temp file in the same folder."""
    text = json.dumps(settings_to_dict(obj), sort_keys=True, indent=2) + "\n"
    atomic_write_text(Path(path), text)


def check_setting(cls: type, key: str, value: Any, *, where: str) -> Any:
    """One value for field `key` of `cls`, checked as `load_settings` checks it (`where`: e.g. a flag)."""
    return _check_values(cls, {key: value}, where=where)[key]


def check_keys(cls: type, keys: Iterable[str], *, where: str) -> None:
    """Raise StyleDropError for keys that are not fields of `cls`, suggesting the closest one."""
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    problems = []
    for key in keys:
        if key in valid:
            continue
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"valid settings: {', '.join(valid)}"
        problems.append(f"unknown setting '{key}' in {where}; {hint}")
    if problems:
        raise StyleDropError("; ".join(problems))


# --- reading the file -----------------------------------------------------------------------


def _read_table(path: Path, section: str | None) -> tuple[dict[str, Any], str]:
    """The settings table of a TOML file, and how to name it in messages ("FILE [train]")."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError as err:
        raise StyleDropError(f"config file not found: {path}; check the path") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise StyleDropError(f"invalid TOML in {path}: {err}; fix the syntax there") from err
    except OSError as err:
        raise StyleDropError(f"cannot read config file {path}: {err.strerror}") from err
    if section is None:
        return document, str(path)
    where = f"{path} [{section}]"
    loose = [key for key, value in document.items() if not isinstance(value, dict)]
    if loose:
        raise StyleDropError(
            f"setting '{loose[0]}' in {path} is outside any table; move it under [{section}]"
        )
    if section not in document:
        close = difflib.get_close_matches(section, list(document), n=1)
        if close:  # probably a typo in the table name, e.g. [trian]
            raise StyleDropError(f"unknown table [{close[0]}] in {path}; did you mean [{section}]? "
                                 f"rename it to [{section}]")
        return {}, where
    return document[section], where


# --- checking values against field annotations ----------------------------------------------


def _check_values(cls: type, data: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """Check the keys of `data`, then coerce each value to its field's annotated type and bounds."""
    check_keys(cls, data, where=where)
    hints = typing.get_type_hints(cls)
    bounds = {f.name: f.metadata.get("bounds", {}) for f in dataclasses.fields(cls)}
    return {key: _coerce(value, hints[key], bounds[key], key, where) for key, value in data.items()}


def _coerce(value: Any, annotation: Any, bounds: Mapping[str, float], key: str, where: str) -> Any:
    """`value` as `annotation` within `bounds`, or StyleDropError naming the key, value, type and file."""
    try:
        converted = _convert(value, annotation)
        if converted is not None and not all(_BOUNDS[name](converted, limit) for name, limit in bounds.items()):
            raise _Mismatch(" and ".join(f"{name} {limit}" for name, limit in bounds.items()))
        return converted
    except _Mismatch as err:
        raise StyleDropError(
            f"setting '{key}' in {where} must be {err}, got {value!r} ({type(value).__name__}); "
            "fix the value"
        ) from None


class _Mismatch(Exception):
    """Raised by `_convert` with a description of the expected type, e.g. "an integer"."""


_NAMES = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false",
          Path: "a path (string)"}


def _convert(value: Any, annotation: Any) -> Any:
    """Coerce `value` to `annotation` or raise _Mismatch; unsupported annotations are bugs."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if annotation is type(None):
        if value is None:
            return None
        raise _Mismatch("none (leave it out)")
    if origin in (Union, types.UnionType):
        for option in args:  # the first option that accepts the value wins
            try:
                return _convert(value, option)
            except _Mismatch:
                pass
        raise _Mismatch(" or ".join(_describe(option) for option in args))
    if origin is Literal:
        if any(value == choice and type(value) is type(choice) for choice in args):
            return value
        raise _Mismatch(_describe(annotation))
    if origin in (tuple, list):
        return _convert_sequence(value, origin, args)
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
    else:
        raise TypeError(f"unsupported settings annotation {annotation!r}")
    raise _Mismatch(_NAMES[annotation])


def _convert_sequence(value: Any, origin: type, args: tuple) -> tuple | list:
    """A TOML/JSON array as tuple[X, ...], tuple[X, Y] or list[X], element by element."""
    expected = _describe(origin[args]) if args else "a list"
    if not isinstance(value, (list, tuple)):
        raise _Mismatch(expected)
    if origin is tuple and args and args[-1] is not Ellipsis:  # fixed length: tuple[X, Y]
        if len(value) != len(args):
            raise _Mismatch(f"{expected} of {len(args)} items")
        item_types = list(args)
    else:
        item_types = [args[0] if args else Any] * len(value)
    try:
        items = [_convert(item, item_type) for item, item_type in zip(value, item_types)]
    except _Mismatch:
        raise _Mismatch(expected) from None
    return tuple(items) if origin is tuple else items


def _describe(annotation: Any) -> str:
    """A readable name for an annotation, used in error messages."""
    if annotation in _NAMES:
        return _NAMES[annotation]
    if annotation is type(None):
        return "none (leave it out)"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in args)
    if origin in (tuple, list) and args:
        if origin is tuple and args[-1] is not Ellipsis:
            return "a list [" + ", ".join(_describe(arg) for arg in args) + "]"
        return f"a list, each item {_describe(args[0])}"
    if origin in (tuple, list) or annotation in (tuple, list):
        return "a list"
    return getattr(annotation, "__name__", repr(annotation))


def jsonable(value: Any) -> Any:
    """Paths -> str, tuples -> lists, recursively; everything else as is."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return value
