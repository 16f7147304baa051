"""Domain values built straight from the fields a compiled reader reads: the decoding half of
`AvroCodec.encode_value`, with no record dict in between.

`BUILDERS` maps a record's full name to a callable taking that record's fields positionally,
in the order the current schema declares them (nested records already built). It is used only
for bodies written with the current schema (the compiled reader's case); anything else goes
through fastavro's resolution and `schemas.records`' `record_to_*`. Both paths must give the
same value: tests/unit/schemas/test_builders.py decodes every kind of record both ways.

A symbol this version does not know fails here as it does there: an operation becomes
`Operation.UNKNOWN` (decide rejects it), an unknown status, reason or channel raises
ValueError (written by a newer ledger: never a guess), which the codec reports as malformed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.model import (
    AccountState,
    Balance,
    CarriedLot,
    Channel,
    Hold,
    LedgerEvent,
    Lot,
    Posting,
    Receipt,
    Request,
    Reversible,
    Status,
)
from ledger.reasons import Reason
from schemas.records import ReceiptOfAccount, ReversibleOfAccount, operation_of, state_from_body

NAMESPACE = "rewards.ledger."


def _hold(
    hold_id: str, asset: str, amount: int, expires_at_ms: int, portions: list[Lot], sequence: int
) -> Hold:
    return Hold(hold_id, asset, amount, expires_at_ms, tuple(portions), sequence)


def _receipt(
    request_id: str,
    content_hash: str,
    sequence: int,
    operation: str,
    remembered_at_ms: int,
    reason: str | None,
) -> Receipt:
    return Receipt(
        request_id,
        content_hash,
        sequence,
        operation_of(operation),
        remembered_at_ms,
        None if reason is None else Reason(reason),
    )


def _reversible(
    request_id: str,
    operation: str,
    asset: str,
    amount: int,
    reversed_amount: int,
    lot_id: str | None,
    recorded_at_ms: int,
    expires_at_ms: int | None,
) -> Reversible:
    return Reversible(
        request_id,
        operation_of(operation),
        asset,
        amount,
        reversed_amount,
        lot_id,
        recorded_at_ms,
        expires_at_ms,
    )


def _request(*fields: Any) -> Request:
    (request_id, program, account_id, operation, asset, amount, reference, counterparty) = fields[
        :8
    ]
    expires_at_ms, reason, requested_at_ms, principal, metadata, carried_lots = fields[8:14]
    to_region, carried_state = fields[14:]
    return Request(
        request_id,
        program,
        account_id,
        operation_of(operation),
        asset,
        amount,
        reference,
        counterparty,
        expires_at_ms,
        reason,
        requested_at_ms,
        principal,
        metadata,
        tuple(carried_lots),
        to_region,
        None if carried_state is None else state_from_body(carried_state),
    )


def _event(*fields: Any) -> LedgerEvent:
    (event_id, program, account_id, sequence, status, reason, original_sequence) = fields[:7]
    processed_at_ms, content_hash, request, channel = fields[7:11]
    postings, balances, lots, holds_opened, holds_closed, reversibles = fields[11:17]
    forgotten_request_ids, forgotten_reversibles, program_version, region, epoch = fields[17:]
    return LedgerEvent(
        event_id,
        program,
        account_id,
        sequence,
        Status(status),
        None if reason is None else Reason(reason),
        original_sequence,
        processed_at_ms,
        content_hash,
        request,
        Channel(channel),
        tuple(postings),
        tuple(balances),
        tuple(lots),
        tuple(holds_opened),
        tuple(holds_closed),
        tuple(reversibles),
        tuple(forgotten_request_ids),
        tuple(forgotten_reversibles),
        program_version,
        region,
        epoch,
    )


def _state(
    program: str,
    account_id: str,
    sequence: int,
    clock_ms: int,
    balances: list[Balance],
    lots: list[Lot],
    holds: list[Hold],
    receipts: list[Receipt],
    reversibles: list[Reversible],
    epoch: int,
    moved_to: str,
) -> AccountState:
    by_asset: dict[str, list[Lot]] = {}
    for lot in lots:
        by_asset.setdefault(lot.asset, []).append(lot)
    return AccountState(
        program,
        account_id,
        sequence,
        clock_ms,
        {balance.asset: balance for balance in balances},
        {asset: tuple(items) for asset, items in by_asset.items()},
        {hold.hold_id: hold for hold in holds},
        {receipt.request_id: receipt for receipt in receipts},
        {item.request_id: item for item in reversibles},
        epoch,
        moved_to,
    )


BUILDERS: dict[str, Callable[..., Any]] = {
    NAMESPACE + "Balance": Balance,
    NAMESPACE + "CarriedLot": CarriedLot,
    NAMESPACE + "Lot": Lot,
    NAMESPACE + "Posting": Posting,
    NAMESPACE + "Hold": _hold,
    NAMESPACE + "Receipt": _receipt,
    NAMESPACE + "Reversible": _reversible,
    NAMESPACE + "TransactionRequest": _request,
    NAMESPACE + "LedgerEvent": _event,
    NAMESPACE + "AccountState": _state,
    NAMESPACE + "StateReceipt": ReceiptOfAccount,
    NAMESPACE + "StateReversible": ReversibleOfAccount,
}
