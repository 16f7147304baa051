"""Changing programs while the ledger runs: versions of a program's definition, as data.

A program's definition is what `[programs.<name>]` of config/programs.toml holds (durations as
strings, one table per asset). Every change makes a new version, one more than the last, that
the file's own parser validates: a change is refused with the same errors as the file, naming
the key (`programs.acme.assets.gems.scale: must be between 0 and 18, got 40`).

What no change may do, because balances already depend on it:

- remove an asset, or change its `kind` or `scale` (amounts are integers of 10^-scale units:
  another scale would change the value of every balance and lot);
- lengthen the idempotency window (receipts older than the current window are forgotten
  already: their retries would be applied again);
- create a program that exists, or change one that does not.

`ProgramCatalogue` folds versions in order (the core and the gateway each hold one, fed by the
programs topic): version n+1 of a program is taken only right after version n, and a definition
that does not validate or breaks the rules above is refused, whoever wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.programs import ConfigError, InvalidValueError, Program, parse_program

IMMUTABLE_ASSET_KEYS = ("kind", "scale")


class ChangeKind(StrEnum):
    SEED = "seed"
    """Written from config/programs.toml when the topic had no version of the program."""
    CREATE = "create"
    ADD_ASSET = "add_asset"
    CHANGE_ASSET = "change_asset"
    CHANGE_PROGRAM = "change_program"


class ChangeRefused(ConfigError):
    """The change is well-formed but cannot apply to the programs as they are."""


class ProgramExists(ChangeRefused):
    pass


class ProgramMissing(ChangeRefused):
    pass


class AssetExists(ChangeRefused):
    pass


class AssetMissing(ChangeRefused):
    pass


class VersionConflict(ChangeRefused):
    """The caller changed version `expected`, but the program is at another one now."""

    def __init__(self, path: str, expected: int, current: int) -> None:
        super().__init__(path, f"expected version {expected}, the program is at {current}")
        self.expected = expected
        self.current = current


@dataclass(frozen=True, slots=True)
class ProgramVersion:
    program: Program
    definition: Mapping[str, Any]
    change: ChangeKind
    changed_at_ms: int
    changed_by: str

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def version(self) -> int:
        return self.program.version


def first_version(
    name: str, definition: Mapping[str, Any], change: ChangeKind, at_ms: int, by: str
) -> ProgramVersion:
    """Version 1 of a new program (created, or seeded from the file)."""
    table = _plain(definition)
    return ProgramVersion(parse_program(name, table, 1), table, change, at_ms, by)


def next_version(
    current: ProgramVersion,
    definition: Mapping[str, Any],
    change: ChangeKind,
    at_ms: int,
    by: str,
) -> ProgramVersion:
    """The version after `current` with `definition`, or the ConfigError that refuses it."""
    table = _plain(definition)
    program = parse_program(current.name, table, current.version + 1)
    _check_kept(current, program)
    return ProgramVersion(program, table, change, at_ms, by)


def with_new_asset(current: ProgramVersion, code: str, asset: Mapping[str, Any]) -> dict[str, Any]:
    """The definition of `current` with one more asset."""
    if code in current.program.assets:
        raise AssetExists(_asset_path(current.name, code), "the asset exists already")
    definition = _plain(current.definition)
    definition["assets"] = {**definition["assets"], code: dict(asset)}
    return definition


def with_asset_changes(
    current: ProgramVersion, code: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The definition of `current` with some keys of one asset changed; a key given as None
    goes back to its default (`lot_lifetime = None`: lots never expire)."""
    if code not in current.program.assets:
        raise AssetMissing(_asset_path(current.name, code), "no such asset")
    definition = _plain(current.definition)
    asset = _merged(definition["assets"][code], changes)
    definition["assets"] = {**definition["assets"], code: asset}
    return definition


def with_program_changes(current: ProgramVersion, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The definition of `current` with some program-wide keys changed (None: the default).
    Assets change one by one (`with_new_asset`, `with_asset_changes`)."""
    if "assets" in changes:
        raise InvalidValueError(
            f"programs.{current.name}.assets", "assets are added or changed one at a time"
        )
    return _merged(current.definition, changes)


class ProgramCatalogue:
    """Every version of every program seen so far, folded in order.

    `programs()` is the latest version of each, as one mapping that is replaced, never
    changed, when a version is taken: a reader holding it (a batch being decided) keeps one
    consistent set of versions while another thread takes new ones.
    """

    def __init__(self) -> None:
        self._versions: dict[str, list[ProgramVersion]] = {}
        self._programs: Mapping[str, Program] = {}

    def programs(self) -> Mapping[str, Program]:
        return self._programs

    def latest(self, name: str) -> ProgramVersion | None:
        versions = self._versions.get(name)
        return versions[-1] if versions else None

    def versions(self, name: str) -> tuple[ProgramVersion, ...]:
        return tuple(self._versions.get(name, ()))

    def names(self) -> list[str]:
        return sorted(self._versions)

    def take(self, version: ProgramVersion) -> None:
        """Fold the next version of a program; raises ChangeRefused or a ConfigError when it is
        not the next one or breaks a rule (nothing is taken then)."""
        current = self.latest(version.name)
        if current is None:
            if version.version != 1:
                raise ProgramMissing(
                    f"programs.{version.name}",
                    f"version {version.version} arrived before version 1",
                )
            checked = first_version(
                version.name,
                version.definition,
                version.change,
                version.changed_at_ms,
                version.changed_by,
            )
        else:
            if version.version != current.version + 1:
                raise ChangeRefused(
                    f"programs.{version.name}",
                    f"version {version.version} is not the next one ({current.version + 1})",
                )
            checked = next_version(
                current,
                version.definition,
                version.change,
                version.changed_at_ms,
                version.changed_by,
            )
        self._versions.setdefault(version.name, []).append(checked)
        self._programs = {**self._programs, version.name: checked.program}


def _check_kept(current: ProgramVersion, program: Program) -> None:
    if program.idempotency_window_ms > current.program.idempotency_window_ms:
        # Receipts older than the current window are already forgotten: a longer window would
        # take their retries for new requests and apply them again.
        raise InvalidValueError(
            f"programs.{current.name}.idempotency_window",
            "can only shrink once the program exists (requests already forgotten by the "
            "current window would be applied again when retried)",
        )
    for code, asset in current.program.assets.items():
        path = _asset_path(current.name, code)
        changed = program.assets.get(code)
        if changed is None:
            raise ChangeRefused(path, "an asset cannot be removed (balances may hold it)")
        for key in IMMUTABLE_ASSET_KEYS:
            if getattr(changed, key) != getattr(asset, key):
                raise InvalidValueError(
                    f"{path}.{key}",
                    f"cannot change once the asset exists ({getattr(asset, key)!r}): "
                    "balances and lots are kept in its units",
                )


def _merged(table: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(table)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _plain(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A copy that shares nothing with the caller's tables (two levels: program, assets)."""
    copied = dict(definition)
    assets = copied.get("assets")
    if isinstance(assets, Mapping):
        copied["assets"] = {
            code: dict(table) if isinstance(table, Mapping) else table
            for code, table in assets.items()
        }
    return copied


def _asset_path(program: str, code: str) -> str:
    return f"programs.{program}.assets.{code}"
