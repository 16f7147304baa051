"""Amounts at the HTTP edge: integers in minor units, or exact decimal strings.

A JSON integer is taken as minor units (`150` with scale 2 is 1.50). A JSON string is a
decimal in major units of the asset and converted exactly: `"1.50"` with scale 2 is 150,
`"1.505"` is refused (more decimals than the asset's scale), `"2"` is 200. Floats never
appear: JSON numbers with a fraction or exponent are rejected by the request models before
this module sees them. Results must fit the signed 64-bit range of the Avro `long`.
"""

from __future__ import annotations

import re

from gateway.errors import GatewayFailure
from ledger.model import INT64_MAX, INT64_MIN

DECIMAL_PATTERN = r"^-?[0-9]{1,20}(\.[0-9]{1,18})?$"
_DECIMAL = re.compile(DECIMAL_PATTERN)


class AmountError(GatewayFailure, ValueError):
    """The amount cannot be represented exactly in the asset's minor units."""


def to_minor_units(amount: int | str, scale: int) -> int:
    """Minor units of `amount` for an asset with `scale` decimal places. Raises AmountError."""
    if isinstance(amount, bool):
        raise AmountError("amount must be an integer or a decimal string")
    if isinstance(amount, int):
        value = amount
    else:
        if not _DECIMAL.match(amount):
            raise AmountError(f"{amount!r} is not a decimal like 12.34")
        negative = amount.startswith("-")
        whole, _, fraction = amount.lstrip("-").partition(".")
        if len(fraction) > scale:
            raise AmountError(
                f"{amount!r} has {len(fraction)} decimal places; the asset allows {scale}"
            )
        value = int(whole + fraction.ljust(scale, "0"))
        value = -value if negative else value
    if not INT64_MIN <= value <= INT64_MAX:
        raise AmountError("amount is outside the signed 64-bit range")
    return value


def to_decimal_string(minor_units: int, scale: int) -> str:
    """The exact decimal rendering of `minor_units`: 150 with scale 2 is "1.50"."""
    if scale == 0:
        return str(minor_units)
    sign = "-" if minor_units < 0 else ""
    digits = str(abs(minor_units)).rjust(scale + 1, "0")
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}"
