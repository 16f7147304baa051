"""Reward programs and their assets, parsed once from a TOML file into frozen values.

A new reward type is configuration, not code: add an asset table to `config/programs.toml`.
Every key is documented in that sample file. `parse_programs` is pure (a mapping in, values
out); reading the file is the caller's (settings/programs.py).

Durations are strings `<integer><unit>` with unit one of `ms`, `s`, `m`, `h`, `d`
(`"365d"`, `"15m"`); they become integer milliseconds.

Errors name the offending key as a dotted path (`programs.acme.assets.points.scale`):

    ConfigError(ValueError)        base, carries `.path`
     ├── ConfigFileError           file missing, unreadable or not valid TOML
     ├── MissingKeyError           a required key is absent
     ├── UnknownKeyError           a key the ledger does not know (usually a typo)
     └── InvalidValueError         wrong type or out of range
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from ledger.model import INT64_MAX


class ConfigError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class ConfigFileError(ConfigError):
    pass


class MissingKeyError(ConfigError):
    pass


class UnknownKeyError(ConfigError):
    pass


class InvalidValueError(ConfigError):
    pass


class AssetKind(StrEnum):
    POINTS = "points"
    CASHBACK = "cashback"
    VOUCHER = "voucher"
    DIGITAL = "digital"


class ClawbackPolicy(StrEnum):
    """What reversing an already spent ACCRUE (or a negative ADJUST beyond funds) does."""

    ALLOW_NEGATIVE = "allow_negative"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Asset:
    code: str
    kind: AssetKind
    scale: int
    transferable: bool
    lot_lifetime_ms: int | None
    clawback: ClawbackPolicy
    amount_max: int
    lot_expiry_granularity_ms: int | None = None
    """Expiries computed from the lot lifetime are rounded up to a multiple of this (since the
    epoch, UTC): value credited the same day then shares one expiry, and so one lot."""


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    idempotency_window_ms: int
    reversal_window_ms: int
    clock_skew_max_ms: int
    hold_timeout_default_ms: int
    hold_timeout_max_ms: int
    assets: Mapping[str, Asset]
    version: int = 1
    """Which definition of the program this is (ledger/program_changes.py): 1 as seeded,
    one more for every change. Every journal event records the version it was decided with."""


Programs = Mapping[str, Program]


class ProgramSource(Protocol):
    """Where a process gets the programs as they are now (they may change while it runs)."""

    def programs(self) -> Programs:
        """The latest versions this process knows, as one mapping that never changes."""
        ...

    def catch_up(self) -> Programs:
        """The latest versions once every change made before this call is known."""
        ...


class FixedPrograms:
    """Programs that never change while the process runs (tests, tools)."""

    def __init__(self, programs: Programs) -> None:
        self._programs = programs

    def programs(self) -> Programs:
        return self._programs

    def catch_up(self) -> Programs:
        return self._programs


def program_source(programs: Programs | ProgramSource) -> ProgramSource:
    if isinstance(programs, Mapping):
        return FixedPrograms(programs)
    return programs


_E = TypeVar("_E", bound=StrEnum)

SCALE_MAX = 18
"""10^18 minor units per unit still leaves an int64 balance room for 9 units."""

SHOWN_CHARS_MAX = 60
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DURATION = re.compile(r"([0-9]{1,19})(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

_PROGRAM_DEFAULTS: dict[str, str] = {
    "idempotency_window": "24h",
    "reversal_window": "365d",
    "clock_skew_max": "5m",
    "hold_timeout_default": "15m",
    "hold_timeout_max": "24h",
}
_PROGRAM_KEYS = frozenset({*_PROGRAM_DEFAULTS, "assets"})
_ASSET_KEYS = frozenset(
    {
        "kind",
        "scale",
        "transferable",
        "lot_lifetime",
        "lot_expiry_granularity",
        "clawback",
        "amount_max",
    }
)


def parse_programs(document: Mapping[str, Any]) -> dict[str, Program]:
    """Validate a decoded document `{"programs": {name: {...}}}`."""
    _only_keys(document, frozenset({"programs"}), "")
    programs = _table(document, "programs", "")
    if not programs:
        raise InvalidValueError("programs", "at least one program is required")
    return {name: parse_program(name, programs[name]) for name in programs}


def parse_program(name: str, table: Any, version: int = 1) -> Program:
    """Validate one program's table (what `[programs.<name>]` holds); errors name keys as
    `programs.<name>.<key>`, whether the table came from the file or from a change."""
    return _program(name, table, f"programs.{name}", version)


def _program(name: str, table: Any, path: str, version: int) -> Program:
    _check_name(name, path)
    if not isinstance(table, Mapping):
        raise InvalidValueError(path, "must be a table")
    _only_keys(table, _PROGRAM_KEYS, path)
    durations = {
        key: _duration(table.get(key, default), f"{path}.{key}")
        for key, default in _PROGRAM_DEFAULTS.items()
    }
    for key, value in durations.items():
        if value <= 0:
            raise InvalidValueError(f"{path}.{key}", "must be longer than 0ms")
    if durations["hold_timeout_default"] > durations["hold_timeout_max"]:
        raise InvalidValueError(f"{path}.hold_timeout_default", "must not exceed hold_timeout_max")
    assets_table = _table(table, "assets", path)
    if not assets_table:
        raise InvalidValueError(f"{path}.assets", "at least one asset is required")
    assets = {
        code: _asset(code, assets_table[code], f"{path}.assets.{code}") for code in assets_table
    }
    return Program(
        name=name,
        idempotency_window_ms=durations["idempotency_window"],
        reversal_window_ms=durations["reversal_window"],
        clock_skew_max_ms=durations["clock_skew_max"],
        hold_timeout_default_ms=durations["hold_timeout_default"],
        hold_timeout_max_ms=durations["hold_timeout_max"],
        assets=assets,
        version=version,
    )


def _asset(code: str, table: Any, path: str) -> Asset:
    _check_name(code, path)
    if not isinstance(table, Mapping):
        raise InvalidValueError(path, "must be a table")
    _only_keys(table, _ASSET_KEYS, path)
    kind = _choice(_required(table, "kind", path), AssetKind, f"{path}.kind")
    scale = _integer(_required(table, "scale", path), f"{path}.scale", 0, SCALE_MAX)
    transferable = _boolean(table.get("transferable", False), f"{path}.transferable")
    lifetime_raw = table.get("lot_lifetime")
    lifetime = None if lifetime_raw is None else _duration(lifetime_raw, f"{path}.lot_lifetime")
    if lifetime is not None and lifetime <= 0:
        raise InvalidValueError(f"{path}.lot_lifetime", "must be longer than 0ms")
    clawback = _choice(table.get("clawback", "reject"), ClawbackPolicy, f"{path}.clawback")
    amount_max = _integer(_required(table, "amount_max", path), f"{path}.amount_max", 1, INT64_MAX)
    granularity_raw = table.get("lot_expiry_granularity")
    granularity = (
        None
        if granularity_raw is None
        else _duration(granularity_raw, f"{path}.lot_expiry_granularity")
    )
    if granularity is not None and granularity <= 0:
        raise InvalidValueError(f"{path}.lot_expiry_granularity", "must be longer than 0ms")
    return Asset(code, kind, scale, transferable, lifetime, clawback, amount_max, granularity)


def _required(table: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in table:
        raise MissingKeyError(f"{path}.{key}", "is required")
    return table[key]


def _table(table: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    where = f"{path}.{key}" if path else key
    value = table.get(key)
    if value is None:
        raise MissingKeyError(where, "is required")
    if not isinstance(value, Mapping):
        raise InvalidValueError(where, "must be a table")
    return value


def _only_keys(table: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    for key in table:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            raise UnknownKeyError(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _check_name(name: str, path: str) -> None:
    # Names end up in Kafka keys `program:account` and in Redis keys: no separators.
    if not _NAME.fullmatch(name):
        raise InvalidValueError(path, "name must be 1-64 of A-Z a-z 0-9 _ . -")


def _integer(value: Any, path: str, low: int, high: int) -> int:
    # bool is an int subclass; `scale = true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(path, f"must be an integer, got {_shown(value)}")
    if not low <= value <= high:
        raise InvalidValueError(path, f"must be between {low} and {high}, got {_shown(value)}")
    return value


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError(path, f"must be true or false, got {_shown(value)}")
    return value


def _duration(value: Any, path: str) -> int:
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidValueError(
            path, f'must be a duration like "15m" or "365d", got {_shown(value)}'
        )
    milliseconds = int(match.group(1)) * _UNIT_MS[match.group(2)]
    if milliseconds > INT64_MAX:
        raise InvalidValueError(path, "is too long")
    return milliseconds


def _shown(value: Any) -> str:
    """A value in an error message, cut short: it may come from a request body."""
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python will print
        return "a number too long to show"
    return text if len(text) <= SHOWN_CHARS_MAX else f"{text[:SHOWN_CHARS_MAX]}..."


def _choice(value: Any, enum: type[_E], path: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InvalidValueError(path, f"must be one of {choices}, got {_shown(value)}") from None
