"""Where an account lives: its home region, from its program's placement policy.

Pure: a policy in, a region out. A program's policy names a default region and rules by
account-id prefix, the longest matching prefix winning (`{"us-": "us", "us-tx-": "eu"}` puts
`us-tx-1` in eu). A program without a policy lives in the deployment's first region. Only the
home applies an account's requests; every other region forwards them there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.programs import InvalidValueError, UnknownKeyError

_KEYS = frozenset({"default", "prefixes"})


@dataclass(frozen=True, slots=True)
class Placement:
    default: str
    # (prefix, region), longest prefix first.
    prefixes: tuple[tuple[str, str], ...] = ()

    def home_of(self, account_id: str) -> str:
        for prefix, region in self.prefixes:
            if account_id.startswith(prefix):
                return region
        return self.default


@dataclass(frozen=True, slots=True)
class Homes:
    """This region and every program's placement: who applies what."""

    here: str
    first: str
    placements: Mapping[str, Placement]
    regions: tuple[str, ...]
    """Every region of the deployment: a move may go to any other, and a request whose home
    is none of them has nowhere to go."""

    def home_of(self, program: str, account_id: str) -> str:
        placement = self.placements.get(program)
        return placement.home_of(account_id) if placement else self.first

    def is_home(self, program: str, account_id: str) -> bool:
        return self.home_of(program, account_id) == self.here


def parse_placements(document: Mapping[str, Any], regions: Sequence[str]) -> dict[str, Placement]:
    """Validate `{"programs": {name: {"default": region, "prefixes": {prefix: region}}}}`;
    every region named must be one of `regions`."""
    for key in document:
        if key != "programs":
            raise UnknownKeyError(key, "unknown key (allowed: programs)")
    programs = document.get("programs", {})
    if not isinstance(programs, Mapping):
        raise InvalidValueError("programs", "must be a table")
    return {
        name: _placement(table, f"programs.{name}", regions) for name, table in programs.items()
    }


def _placement(table: Any, path: str, regions: Sequence[str]) -> Placement:
    if not isinstance(table, Mapping):
        raise InvalidValueError(path, "must be a table")
    for key in table:
        if key not in _KEYS:
            raise UnknownKeyError(f"{path}.{key}", "unknown key (allowed: default, prefixes)")
    default = _region(table.get("default"), f"{path}.default", regions)
    prefixes = table.get("prefixes", {})
    if not isinstance(prefixes, Mapping):
        raise InvalidValueError(f"{path}.prefixes", "must be a table of prefix = region")
    rules = []
    for prefix, region in prefixes.items():
        if not prefix:
            raise InvalidValueError(f"{path}.prefixes", "a prefix must not be empty")
        rules.append((prefix, _region(region, f"{path}.prefixes.{prefix}", regions)))
    rules.sort(key=lambda rule: len(rule[0]), reverse=True)
    return Placement(default, tuple(rules))


def _region(value: Any, path: str, regions: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in regions:
        raise InvalidValueError(path, f"must be one of the regions ({', '.join(regions)})")
    return value
