"""Regions: one whole ledger stack per region, journals replicated between them.

README "Regions" says how they fit together."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ledger.placement import Homes, parse_placements
from ledger.programs import ConfigFileError
from settings.variables import EnvVar, SettingsError

# A region's name prefixes its journal's copy in every other region (`eu.rewards.events`), so it
# must be a plain topic-name word: no dot, which MirrorMaker 2 uses as its separator.
REGION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


@dataclass(frozen=True)
class RegionSettings:
    # The region this process serves; "" is a single-region ledger, exactly as without regions.
    region: str = ""
    # Every region of the deployment in order, comma-separated ("eu,us"); the first is where
    # accounts live unless a program's placement says otherwise.
    regions: str = ""
    # Every program's placement: which region is an account's home (config/placement.toml).
    placement_config: str = "config/placement.toml"

    @property
    def region_names(self) -> tuple[str, ...]:
        return parse_regions(self.regions, self.region)

    @property
    def other_regions(self) -> tuple[str, ...]:
        """The regions whose journals this one's readers follow (none without a region)."""
        if not self.region:
            return ()
        return tuple(name for name in self.region_names if name != self.region)


def parse_regions(raw: str, region: str = "") -> tuple[str, ...]:
    """The region names of `LEDGER_REGIONS`, checked; `region` must be one of them."""
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    for name in names:
        if not REGION_NAME.match(name):
            raise SettingsError(
                f"LEDGER_REGIONS: {name!r} is not a region name (a-z, 0-9 and '-', "
                "starting with a letter, at most 16)"
            )
    if len(set(names)) != len(names):
        raise SettingsError(f"LEDGER_REGIONS names a region twice: {raw!r}")
    if region and region not in names:
        raise SettingsError(
            f"LEDGER_REGION={region!r} is not one of LEDGER_REGIONS ({raw or 'empty'})"
        )
    return names


def load_homes(region: str, regions: tuple[str, ...], path: str | Path) -> Homes:
    """Who applies what in `region`: the placement file, checked against the regions."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConfigFileError(str(path), f"cannot read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigFileError(str(path), f"invalid TOML: {error}") from error
    return Homes(region, regions[0], parse_placements(document, regions), regions)


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("LEDGER_REGION", "region", str, "the region this process serves (empty: no regions)"),
    EnvVar(
        "LEDGER_REGIONS",
        "regions",
        str,
        "every region of the deployment, comma-separated, e.g. eu,us",
    ),
    EnvVar(
        "LEDGER_PLACEMENT_CONFIG",
        "placement_config",
        str,
        "each program's placement of accounts in regions (TOML)",
    ),
)
