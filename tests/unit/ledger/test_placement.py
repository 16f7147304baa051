"""Placement: an account's home region from its program's policy."""

from __future__ import annotations

import pytest

from ledger.placement import Homes, Placement, parse_placements
from ledger.programs import InvalidValueError, UnknownKeyError

REGIONS = ("eu", "us", "in")


def test_the_longest_matching_prefix_decides_and_the_default_takes_the_rest() -> None:
    placements = parse_placements(
        {"programs": {"acme": {"default": "eu", "prefixes": {"us-": "us", "us-tx-": "in"}}}},
        REGIONS,
    )
    acme = placements["acme"]
    assert acme.home_of("us-1") == "us"
    assert acme.home_of("us-tx-1") == "in"
    assert acme.home_of("ann") == "eu"
    homes = Homes("us", "eu", placements, REGIONS)
    assert homes.is_home("acme", "us-2") and not homes.is_home("acme", "ann")
    # A program without a policy lives in the first region.
    assert homes.home_of("other", "us-2") == "eu"


@pytest.mark.parametrize(
    ("document", "error", "key"),
    [
        ({"programs": {"acme": {"default": "mars"}}}, InvalidValueError, "programs.acme.default"),
        ({"programs": {"acme": {}}}, InvalidValueError, "programs.acme.default"),
        (
            {"programs": {"acme": {"default": "eu", "prefixes": {"x": "mars"}}}},
            InvalidValueError,
            "programs.acme.prefixes.x",
        ),
        (
            {"programs": {"acme": {"default": "eu", "prefixes": {"": "us"}}}},
            InvalidValueError,
            "programs.acme.prefixes",
        ),
        ({"programs": {"acme": {"default": "eu", "home": "us"}}}, UnknownKeyError, "acme.home"),
        ({"placement": {}}, UnknownKeyError, "placement"),
    ],
)
def test_a_bad_policy_names_its_key(document: dict[str, object], error: type, key: str) -> None:
    with pytest.raises(error) as raised:
        parse_placements(document, REGIONS)
    assert key in str(raised.value)


def test_the_shipped_placement_file_places_acme_in_eu_and_us() -> None:
    from settings.regions import load_homes
    from tests.support.processes import ROOT

    homes = load_homes("eu", ("eu", "us"), ROOT / "config" / "placement.toml")
    assert homes.home_of("acme", "us-ann") == "us"
    assert homes.home_of("acme", "ann") == "eu"
    assert isinstance(homes.placements["acme"], Placement)
