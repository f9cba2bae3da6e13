"""YAML -> frozen dataclasses, shared by `reid` and `mcvrt`.

Hand-written rather than dacite: dacite reports an unknown *nested* key without its dotted
path, and "configs/x.yaml: unknown key 'tracker.max_agee' (did you mean 'max_age'?)" is the
error a user needs.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from reid.errors import ConfigError

T = TypeVar("T")


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless `condition` holds (for `__post_init__` range checks)."""
    if not condition:
        raise ConfigError(message)


def safe_yaml(text: str) -> Any:
    """`yaml.safe_load`, raising `yaml.YAMLError` for every bad document: PyYAML raises
    ValueError when a tag cannot be built (an impossible date such as 2001-13-45, `!!int x`)."""
    try:
        return yaml.safe_load(text)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(problem=str(exc)) from None


def load_yaml(cls: type[T], path: str | Path) -> T:
    """Read `path` into the dataclass `cls`, rejecting unknown keys and bad values."""
    path = Path(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"config not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}".splitlines()[0]) from None
    try:
        return from_mapping(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def from_mapping(cls: type[T], data: Any, prefix: str = "") -> T:
    """Build dataclass `cls` from a nested mapping; unknown keys raise with their dotted path."""
    if not isinstance(data, dict):
        raise ConfigError(f"'{prefix.rstrip('.') or '<root>'}' must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"unknown key '{prefix}{key}'{hint}")
        kwargs[key] = _convert(hints[key], value, f"{prefix}{key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{prefix or cls.__name__}: {exc}") from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    """Convert a YAML value to the field's declared type (dataclass, Path, tuple, scalars)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (hint,) = [a for a in args if a is not type(None)][:1] or [Any]
        return _convert(hint, value, where)
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, f"{where}.")
    if hint is Path:
        if not isinstance(value, str):
            raise ConfigError(f"'{where}' must be a path, got {value!r}")
        return Path(value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{where}' must be a list, got {value!r}")
        inner = args[0] if args else Any
        return tuple(_convert(inner, v, where) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"'{where}' must be a mapping, got {value!r}")
        return dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"'{where}' must be {hint.__name__}, got {value!r}")
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"'{where}' must be int, got {value!r}")
    return value
