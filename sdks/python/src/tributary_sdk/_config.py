"""Config keys and the spec checks the worker runs too (src/plugins/config-spec.ts).

Values travel as strings, as in Kafka Connect. `validate_config` returns one problem per
offending key: required keys missing or empty, values that do not parse as their type, values
outside `allowed_values` (every entry, for a LIST). Unknown keys are not problems: connector
configs also carry worker keys (converters, transforms, `errors.*`).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ._gen.tributary.connector.v1 import connector_pb2 as pb

_INT = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SAFE = 2**53 - 1


class ConfigType(enum.IntEnum):
    """How a config value parses (`ConfigType` in connector.proto)."""

    STRING = pb.CONFIG_TYPE_STRING
    INT = pb.CONFIG_TYPE_INT
    DOUBLE = pb.CONFIG_TYPE_DOUBLE
    BOOLEAN = pb.CONFIG_TYPE_BOOLEAN
    LIST = pb.CONFIG_TYPE_LIST
    DURATION_MS = pb.CONFIG_TYPE_DURATION_MS


@dataclass(frozen=True)
class ConfigKey:
    """One key a plugin accepts (`ConfigKey` in connector.proto)."""

    name: str
    type: ConfigType = ConfigType.STRING
    default: str | None = None
    required: bool = False
    documentation: str = ""
    secret: bool = False
    allowed_values: Sequence[str] = field(default_factory=tuple)
    group: str = ""

    def to_proto(self) -> pb.ConfigKey:
        key = pb.ConfigKey(
            name=self.name,
            type=int(self.type),  # type: ignore[arg-type]
            required=self.required,
            documentation=self.documentation,
            secret=self.secret,
            allowed_values=list(self.allowed_values),
            group=self.group,
        )
        if self.default is not None:
            key.default_value = self.default
        return key


@dataclass(frozen=True)
class ConfigError:
    """One problem with one key (`key` empty for the config as a whole)."""

    key: str
    message: str


def parse_list(value: str) -> list[str]:
    """A LIST value: comma-separated, entries trimmed, empty entries dropped."""
    return [v.strip() for v in value.split(",") if v.strip()]


def _type_problem(type_: ConfigType, value: str) -> str | None:
    v = value.strip()
    if type_ is ConfigType.INT:
        if not _INT.match(v):
            return f'must be an integer, got "{value}"'
        return None if abs(int(v)) <= _SAFE else f'is out of range: "{value}"'
    if type_ is ConfigType.DOUBLE:
        return None if _DECIMAL.match(v) and math.isfinite(float(v)) else f'must be a number, got "{value}"'
    if type_ is ConfigType.BOOLEAN:
        return None if v.lower() in ("true", "false") else f'must be "true" or "false", got "{value}"'
    if type_ is ConfigType.DURATION_MS:
        if not _INT.match(v) or int(v) < 0:
            return f'must be a duration in milliseconds (a non-negative integer), got "{value}"'
        return None if int(v) <= _SAFE else f'is out of range: "{value}"'
    return None


def validate_config(keys: Sequence[ConfigKey], config: Mapping[str, str]) -> list[ConfigError]:
    """One ConfigError per offending key; empty when the config is valid."""
    problems: list[ConfigError] = []
    for key in keys:
        value = config.get(key.name)
        if value is None:
            if key.required and key.default is None:
                problems.append(ConfigError(key.name, "is required"))
            continue
        if value.strip() == "" and key.type is not ConfigType.LIST:
            if key.required:
                problems.append(ConfigError(key.name, "is required and must not be empty"))
            elif key.type is not ConfigType.STRING:
                problems.append(ConfigError(key.name, _type_problem(key.type, value) or "must not be empty"))
            continue
        problem = _type_problem(key.type, value)
        if problem:
            problems.append(ConfigError(key.name, problem))
            continue
        if key.allowed_values:
            entries = parse_list(value) if key.type is ConfigType.LIST else [value]
            bad = [e for e in entries if e not in key.allowed_values]
            if bad:
                allowed = ", ".join(f'"{a}"' for a in key.allowed_values)
                listed = ", ".join(f'"{b}"' for b in bad)
                problems.append(ConfigError(key.name, f"{listed} is not one of {allowed}"))
    return problems


def apply_defaults(keys: Sequence[ConfigKey], config: Mapping[str, str]) -> dict[str, str]:
    """A copy of `config` with every absent key that has a default set to it."""
    result = dict(config)
    for key in keys:
        if key.name not in result and key.default is not None:
            result[key.name] = key.default
    return result


class Config(Mapping[str, str]):
    """A connector's config with the spec's defaults applied, plus typed getters."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Config({sorted(self._values)})"  # keys only: values may be secrets

    def string(self, key: str, default: str | None = None) -> str:
        value = self._values.get(key)
        if value is None:
            if default is None:
                raise KeyError(f'config key "{key}" is missing')
            return default
        return value

    def int(self, key: str, default: int | None = None) -> int:
        raw = self._values.get(key, "").strip()
        if raw == "":
            if default is None:
                raise KeyError(f'config key "{key}" is missing')
            return default
        return int(raw)

    def float(self, key: str, default: float | None = None) -> float:
        raw = self._values.get(key, "").strip()
        if raw == "":
            if default is None:
                raise KeyError(f'config key "{key}" is missing')
            return default
        return float(raw)

    def bool(self, key: str, default: bool = False) -> bool:
        raw = self._values.get(key, "").strip()
        return default if raw == "" else raw.lower() == "true"

    def list(self, key: str) -> list[str]:
        return parse_list(self._values.get(key, ""))
