from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ledger.programs import (
    AssetKind,
    ClawbackPolicy,
    ConfigError,
    ConfigFileError,
    InvalidValueError,
    MissingKeyError,
    UnknownKeyError,
    parse_programs,
)
from settings.programs import load_programs
from tests.unit.ledger.conftest import SAMPLE_CONFIG

VALID: dict[str, Any] = {
    "programs": {
        "acme": {
            "idempotency_window": "24h",
            "assets": {"points": {"kind": "points", "scale": 0, "amount_max": 100}},
        }
    }
}


def test_sample_config_has_every_kind_and_two_currencies() -> None:
    programs = load_programs(SAMPLE_CONFIG)
    acme = programs["acme"]
    assert {asset.kind for asset in acme.assets.values()} == set(AssetKind)
    assert acme.assets["cashback_inr"].scale == acme.assets["cashback_usd"].scale == 2
    assert acme.assets["cashback_usd"].lot_lifetime_ms is None
    assert acme.assets["points"].lot_lifetime_ms == 365 * 86_400_000
    assert acme.assets["points"].clawback is ClawbackPolicy.ALLOW_NEGATIVE
    assert acme.idempotency_window_ms == 86_400_000
    assert "beta" in programs


def test_defaults() -> None:
    program = parse_programs(VALID)["acme"]
    asset = program.assets["points"]
    assert (asset.transferable, asset.lot_lifetime_ms, asset.clawback) == (
        False,
        None,
        ClawbackPolicy.REJECT,
    )
    assert program.hold_timeout_default_ms == 15 * 60_000


def _with(path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    table = document
    for key in parents:
        table = table[key]
    if value is _DELETE:
        del table[last]
    else:
        table[last] = value
    return document


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("programs.acme.assets.points.scale", 19, InvalidValueError),
        ("programs.acme.assets.points.scale", True, InvalidValueError),
        ("programs.acme.assets.points.scale", _DELETE, MissingKeyError),
        ("programs.acme.assets.points.kind", "miles", InvalidValueError),
        ("programs.acme.assets.points.clawback", "sometimes", InvalidValueError),
        ("programs.acme.assets.points.amount_max", 0, InvalidValueError),
        ("programs.acme.assets.points.amount_max", 2**63, InvalidValueError),
        ("programs.acme.assets.points.transferable", "yes", InvalidValueError),
        ("programs.acme.assets.points.lot_lifetime", "0d", InvalidValueError),
        ("programs.acme.assets.points.lot_lifetime", 365, InvalidValueError),
        ("programs.acme.assets.points.lifetime", "1d", UnknownKeyError),
        ("programs.acme.idempotency_window", "1 day", InvalidValueError),
        ("programs.acme.hold_timeout_default", "2d", InvalidValueError),
        ("programs.acme.assets", {}, InvalidValueError),
        ("programs.acme.assets", _DELETE, MissingKeyError),
        ("programs.acme.assets.points", "points", InvalidValueError),
    ],
)
def test_errors_name_the_offending_key(path: str, value: Any, error: type[ConfigError]) -> None:
    with pytest.raises(error) as raised:
        parse_programs(_with(path, value))
    expected = "programs.acme.hold_timeout_default" if "hold_timeout" in path else path
    assert raised.value.path == expected
    assert str(raised.value).startswith(expected)


def test_bad_names_and_shapes() -> None:
    with pytest.raises(InvalidValueError, match=r"programs\.a:b"):
        parse_programs({"programs": {"a:b": VALID["programs"]["acme"]}})
    with pytest.raises(MissingKeyError):
        parse_programs({})
    with pytest.raises(InvalidValueError):
        parse_programs({"programs": {}})
    with pytest.raises(UnknownKeyError, match=r"^program:"):
        parse_programs({"program": {}})


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_programs(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[programs.acme\n")
    with pytest.raises(ConfigFileError, match="invalid TOML"):
        load_programs(broken)
