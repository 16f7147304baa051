"""Program versions: every change validated like the programs file, kind and scale kept, and
the catalogue taking versions strictly in order whoever wrote them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ledger.program_changes import (
    AssetExists,
    AssetMissing,
    ChangeKind,
    ChangeRefused,
    ProgramCatalogue,
    ProgramVersion,
    first_version,
    next_version,
    with_asset_changes,
    with_new_asset,
    with_program_changes,
)
from ledger.programs import InvalidValueError, UnknownKeyError
from schemas.program_records import (
    ProgramRecordError,
    decode_program_version,
    encode_program_version,
)

POINTS = {"kind": "points", "scale": 0, "amount_max": 1000, "lot_lifetime": "365d"}


def _v1() -> ProgramVersion:
    return first_version("acme", {"assets": {"points": POINTS}}, ChangeKind.CREATE, 1, "me")


def _next(current: ProgramVersion, definition: dict[str, Any], kind: ChangeKind) -> ProgramVersion:
    return next_version(current, definition, kind, 2, "me")


def test_changes_make_the_next_version_with_the_files_rules() -> None:
    v1 = _v1()
    assert (v1.version, v1.program.assets["points"].amount_max) == (1, 1000)
    gems = {"kind": "voucher", "scale": 2, "amount_max": 5}
    v2 = _next(v1, with_new_asset(v1, "gems", gems), ChangeKind.ADD_ASSET)
    assert v2.version == 2 and set(v2.program.assets) == {"points", "gems"}
    v3 = _next(
        v2, with_asset_changes(v2, "points", {"lot_lifetime": None}), ChangeKind.CHANGE_ASSET
    )
    assert v3.program.assets["points"].lot_lifetime_ms is None  # back to "never expires"
    v4 = _next(v3, with_program_changes(v3, {"hold_timeout_max": "2d"}), ChangeKind.CHANGE_PROGRAM)
    assert v4.program.hold_timeout_max_ms == 2 * 86_400_000
    assert v1.program.assets["points"].lot_lifetime_ms == 365 * 86_400_000  # untouched


def test_what_balances_depend_on_cannot_change() -> None:
    v1 = _v1()
    for key, value in (("scale", 2), ("kind", "cashback")):
        with pytest.raises(InvalidValueError) as refused:
            _next(v1, with_asset_changes(v1, "points", {key: value}), ChangeKind.CHANGE_ASSET)
        assert refused.value.path == f"programs.acme.assets.points.{key}"
    with pytest.raises(ChangeRefused):
        _next(v1, {"assets": {"other": POINTS}}, ChangeKind.CHANGE_PROGRAM)  # points removed
    with pytest.raises(AssetExists):
        with_new_asset(v1, "points", POINTS)
    with pytest.raises(AssetMissing):
        with_asset_changes(v1, "gems", {"amount_max": 1})
    with pytest.raises(InvalidValueError):
        with_program_changes(v1, {"assets": {}})


def test_errors_name_the_key_like_the_programs_file() -> None:
    v1 = _v1()
    with pytest.raises(UnknownKeyError) as typo:
        _next(v1, with_asset_changes(v1, "points", {"amount_mx": 5}), ChangeKind.CHANGE_ASSET)
    assert typo.value.path == "programs.acme.assets.points.amount_mx"
    with pytest.raises(InvalidValueError) as floaty:
        _next(v1, with_asset_changes(v1, "points", {"amount_max": 5.0}), ChangeKind.CHANGE_ASSET)
    assert "must be an integer" in str(floaty.value)


def test_the_catalogue_takes_versions_in_order_only() -> None:
    catalogue = ProgramCatalogue()
    v1 = _v1()
    v2 = _next(v1, with_asset_changes(v1, "points", {"amount_max": 5}), ChangeKind.CHANGE_ASSET)
    with pytest.raises(ChangeRefused):
        catalogue.take(v2)  # before version 1
    catalogue.take(v1)
    held = catalogue.programs()
    catalogue.take(v2)
    with pytest.raises(ChangeRefused):
        catalogue.take(v2)  # twice
    assert held["acme"].version == 1  # a batch holding the old mapping keeps its versions
    assert catalogue.programs()["acme"].assets["points"].amount_max == 5
    assert [v.version for v in catalogue.versions("acme")] == [1, 2]
    forged = ProgramVersion(
        replace(v2.program, version=3),
        {"assets": {"points": {**POINTS, "scale": 4}}},
        ChangeKind.CHANGE_ASSET,
        3,
        "someone",
    )
    with pytest.raises(InvalidValueError):
        catalogue.take(forged)  # a writer that skipped the checks is refused by every reader
    assert catalogue.latest("acme") is not None and catalogue.latest("acme").version == 2  # type: ignore[union-attr]


def test_records_round_trip_and_junk_is_named() -> None:
    v1 = _v1()
    key, value = encode_program_version(v1)
    assert key == b"acme@1"
    decoded = decode_program_version(value)
    assert (decoded.program, decoded.definition, decoded.changed_by) == (
        v1.program,
        v1.definition,
        "me",
    )
    for junk in (None, b"{", b"[]", b'{"program": "acme", "version": true}'):
        with pytest.raises(ProgramRecordError):
            decode_program_version(junk)


def test_the_idempotency_window_only_shrinks() -> None:
    # Receipts older than the window are forgotten: a longer one would take their retries
    # for new requests and apply them twice.
    v1 = first_version(
        "acme",
        {"idempotency_window": "24h", "assets": {"points": POINTS}},
        ChangeKind.CREATE,
        1,
        "me",
    )
    with pytest.raises(InvalidValueError) as longer:
        _next(
            v1, with_program_changes(v1, {"idempotency_window": "48h"}), ChangeKind.CHANGE_PROGRAM
        )
    assert longer.value.path == "programs.acme.idempotency_window"
    shorter = with_program_changes(v1, {"idempotency_window": "12h"})
    assert _next(v1, shorter, ChangeKind.CHANGE_PROGRAM).program.idempotency_window_ms == 43_200_000


def test_hostile_names_and_numbers_are_refused_without_echoing_them() -> None:
    v1 = _v1()
    for changes in ({"lot_lifetime": "9" * 5000 + "d"}, {"amount_max": 10**5000}):
        with pytest.raises(InvalidValueError) as refused:
            _next(v1, with_asset_changes(v1, "points", changes), ChangeKind.CHANGE_ASSET)
        assert len(str(refused.value)) < 200
    with pytest.raises(InvalidValueError):  # Python's `$` would let the newline through
        _next(v1, with_new_asset(v1, "gems\n", POINTS), ChangeKind.ADD_ASSET)
