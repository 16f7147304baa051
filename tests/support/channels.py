"""The channel a test's request should come through to be permitted (docs/domain.md)."""

from __future__ import annotations

from ledger.model import ELEVATED_OPERATIONS, SYSTEM_OPERATIONS, Channel, Operation


def permitting(operation: Operation) -> Channel:
    """The channel that may ask for `operation`: operator for ADJUST, system for legs and
    timers, public for the rest."""
    if operation in SYSTEM_OPERATIONS:
        return Channel.SYSTEM
    if operation in ELEVATED_OPERATIONS:
        return Channel.OPERATOR
    return Channel.PUBLIC
