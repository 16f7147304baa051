"""Amounts: exact minor units from integers and decimal strings, and back."""

from __future__ import annotations

import pytest

from gateway.amounts import AmountError, to_decimal_string, to_minor_units
from ledger.model import INT64_MAX


@pytest.mark.parametrize(
    ("amount", "scale", "minor"),
    [
        (150, 2, 150),
        ("1.50", 2, 150),
        ("1.5", 2, 150),
        ("2", 2, 200),
        ("-0.07", 2, -7),
        ("12", 0, 12),
        ("0.000000000000000001", 18, 1),
        (str(INT64_MAX), 0, INT64_MAX),
    ],
)
def test_amounts_convert_exactly(amount: int | str, scale: int, minor: int) -> None:
    assert to_minor_units(amount, scale) == minor


@pytest.mark.parametrize(
    ("amount", "scale"),
    [
        ("1.505", 2),
        ("1.5", 0),
        ("1e3", 2),
        ("", 2),
        (" 1", 2),
        ("1.", 2),
        ("9223372036854775808", 0),
        (True, 0),
    ],
)
def test_amounts_refuse_what_is_not_exact(amount: int | str, scale: int) -> None:
    with pytest.raises(AmountError):
        to_minor_units(amount, scale)


@pytest.mark.parametrize(
    ("minor", "scale", "text"), [(150, 2, "1.50"), (-7, 2, "-0.07"), (0, 2, "0.00"), (42, 0, "42")]
)
def test_decimal_rendering_round_trips(minor: int, scale: int, text: str) -> None:
    assert to_decimal_string(minor, scale) == text
    assert to_minor_units(text, scale) == minor
