"""Every operation's own rules, by family: value (accrue, redeem, reverse, adjust, expire), holds,
transfers. `OPERATIONS` maps each operation to the function that decides it."""

from __future__ import annotations

from collections.abc import Callable

from ledger.effects import Context, Effect
from ledger.model import Operation
from ledger.operations.holds import capture, hold, hold_timeout, release
from ledger.operations.transfers import transfer, transfer_leg
from ledger.operations.value import accrue, adjust, expire, redeem, reverse
from ledger.reasons import Reason

OPERATIONS: dict[Operation, Callable[[Context], Effect | Reason]] = {
    Operation.ACCRUE: accrue,
    Operation.REDEEM: redeem,
    Operation.HOLD: hold,
    Operation.CAPTURE: capture,
    Operation.RELEASE: release,
    Operation.HOLD_TIMEOUT: hold_timeout,
    Operation.REVERSE: reverse,
    Operation.ADJUST: adjust,
    Operation.TRANSFER: transfer,
    Operation.TRANSFER_CREDIT: transfer_leg,
    Operation.TRANSFER_REFUND: transfer_leg,
    Operation.EXPIRE: expire,
}
