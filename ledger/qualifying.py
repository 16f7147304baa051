"""Qualifying points: what a member earned over the last 12 months, the input of tier rules.

Earned means issued to the member by the program: an ACCRUE counts, a REVERSE of an accrual
(a refund) takes it back; spending, expiry, transfers and operator adjustments do not change
what was earned. Read from an applied event's postings against `@issuance`, so it follows the
books exactly. Days are UTC days of the event's `processed_at_ms`; the rolling window is the
last 365 days, today included.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.accounts import ISSUANCE
from ledger.model import LedgerEvent, Status

DAY_MS = 86_400_000
WINDOW_DAYS = 365


def earned(event: LedgerEvent) -> dict[str, int]:
    """Per asset, what this event issued to the member (negative: an accrual reversed)."""
    if event.status is not Status.APPLIED:
        return {}
    issued: dict[str, int] = {}
    for posting in event.postings:
        if posting.account == ISSUANCE:
            issued[posting.asset] = issued.get(posting.asset, 0) - posting.amount
    return {asset: amount for asset, amount in issued.items() if amount}


def day_of(epoch_ms: int) -> int:
    return epoch_ms // DAY_MS


def first_day_counted(today: int) -> int:
    return today - WINDOW_DAYS + 1


def rolling_total(days: Mapping[int, Mapping[str, int]], today: int) -> dict[str, int]:
    """Per asset, the sum over the window ending `today` (older and future days left out)."""
    first = first_day_counted(today)
    total: dict[str, int] = {}
    for day, amounts in days.items():
        if first <= day <= today:
            for asset, amount in amounts.items():
                total[asset] = total.get(asset, 0) + amount
    return total
