"""Domain values <-> plain dicts shaped like the .avsc contracts next to this file.

Pure mapping, no encoding: codec.py turns these dicts into bytes with fastavro. Enums travel
as their symbol strings; optional fields as None; the per-asset dicts of `AccountState`
travel as arrays (lots flattened across assets, in spending order).

`load_schema(name)` reads `schemas/<name>.avsc` as JSON for callers that need the contract.

One field is encoded here: an INSTALL's `carried_state` travels as an AccountState
(account_state.avsc) in Avro single-object encoding inside the request (`state_body`,
`state_from_body`), because the request and event records cannot nest the state's own record
types. The fingerprint matters: the old and the new home may run different releases of the
contract, and the body alone would be read with the reader's schema as if it were the writer's.

Long on purpose: every contract's records share the nested ones (lots, holds, receipts...),
whose mappings are private here; split by contract, they would be public for no caller.
"""

from __future__ import annotations

import json
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from ledger.model import (
    AccountState,
    Balance,
    CarriedLot,
    Channel,
    Hold,
    LedgerEvent,
    Lot,
    Operation,
    Posting,
    Receipt,
    Request,
    Reversible,
    Status,
)
from ledger.reasons import Reason
from schemas.catalogue import SchemaCatalogue, crc64_avro_fingerprint
from schemas.exceptions import MalformedBodyError
from schemas.framing import SINGLE_OBJECT_HEADER_BYTES, SINGLE_OBJECT_MARKER, single_object_header

SCHEMA_DIR = Path(__file__).resolve().parent
REQUEST_SCHEMA = "transaction_request"
EVENT_SCHEMA = "ledger_event"
STATE_SCHEMA = "account_state"
STATE_FULL_NAME = "rewards.ledger.AccountState"

Record = dict[str, Any]


def load_schema(name: str) -> Record:
    with open(SCHEMA_DIR / f"{name}.avsc", encoding="utf-8") as file:
        schema: Record = json.load(file)
    return schema


# --- requests -------------------------------------------------------------------------------


def request_to_record(request: Request) -> Record:
    return {
        "request_id": request.request_id,
        "program": request.program,
        "account_id": request.account_id,
        "operation": request.operation.value,
        "asset": request.asset,
        "amount": request.amount,
        "reference": request.reference,
        "counterparty_account_id": request.counterparty_account_id,
        "expires_at_ms": request.expires_at_ms,
        "reason": request.reason,
        "requested_at_ms": request.requested_at_ms,
        "principal": request.principal,
        "metadata": dict(request.metadata),
        "carried_lots": [
            {"amount": lot.amount, "expires_at_ms": lot.expires_at_ms}
            for lot in request.carried_lots
        ],
        "to_region": request.to_region,
        "carried_state": (
            None if request.carried_state is None else state_body(request.carried_state)
        ),
    }


def record_to_request(record: Record) -> Request:
    return Request(
        request_id=record["request_id"],
        program=record["program"],
        account_id=record["account_id"],
        operation=operation_of(record["operation"]),
        asset=record["asset"],
        amount=record.get("amount", 0),
        reference=record.get("reference"),
        counterparty_account_id=record.get("counterparty_account_id"),
        expires_at_ms=record.get("expires_at_ms"),
        reason=record.get("reason"),
        requested_at_ms=record["requested_at_ms"],
        principal=record.get("principal"),
        metadata=dict(record.get("metadata") or {}),
        carried_lots=tuple(
            CarriedLot(lot["amount"], lot.get("expires_at_ms"))
            for lot in record.get("carried_lots") or ()
        ),
        to_region=record.get("to_region") or "",
        carried_state=_carried_state(record.get("carried_state")),
    )


def _carried_state(body: bytes | None) -> AccountState | None:
    return None if body is None else state_from_body(body)


@cache
def _state_schema() -> Any:
    return parse_schema(load_schema(STATE_SCHEMA))


@cache
def _catalogue() -> SchemaCatalogue:
    return SchemaCatalogue.load()


@cache
def _state_header() -> bytes:
    return single_object_header(crc64_avro_fingerprint(_state_schema()))


def state_body(state: AccountState) -> bytes:
    """The whole state (receipts and reversal records included), single-object encoded."""
    out = BytesIO()
    out.write(_state_header())
    schemaless_writer(out, _state_schema(), state_to_record(state))
    return out.getvalue()


def state_from_body(body: bytes) -> AccountState:
    """Read with the writer schema its fingerprint names (current or released), resolved to
    the current one. Raises MalformedBodyError for anything that is not an AccountState
    (unknown or foreign schema, truncated or trailing bytes): whatever path decodes it, a
    damaged INSTALL is a codec error, never a crash."""
    try:
        return _read_state(body)
    except MalformedBodyError:
        raise
    except Exception as error:  # fastavro's failures on a damaged body are no closed set
        raise MalformedBodyError(
            f"carried state does not decode: {type(error).__name__}: {error}"
        ) from error


def _read_state(body: bytes) -> AccountState:
    writer = _bare_state_schema()
    start = 0
    if body[:2] == SINGLE_OBJECT_MARKER:
        named = _catalogue().writer(int.from_bytes(body[2:SINGLE_OBJECT_HEADER_BYTES], "little"))
        if named.full_name != STATE_FULL_NAME:
            raise MalformedBodyError(f"carried state written as {named.full_name}")
        writer, start = named.parsed, SINGLE_OBJECT_HEADER_BYTES
    stream = BytesIO(body)
    stream.seek(start)
    record = schemaless_reader(stream, writer, _state_schema())
    if not isinstance(record, dict):
        raise MalformedBodyError("the carried state is not a record")
    if stream.tell() != len(body):
        raise MalformedBodyError(f"{len(body) - stream.tell()} bytes after the carried state")
    return record_to_state(record)


@cache
def _bare_state_schema() -> Any:
    """The writer of a bare body (no marker), as the first release of moves wrote it: release
    v2's AccountState, whatever the current one becomes. (A bare body never starts with C3 01:
    that is a negative length for the first field, a string.)"""
    path = SCHEMA_DIR / "released" / "v2" / f"{STATE_SCHEMA}.avsc"
    with open(path, encoding="utf-8") as file:
        return parse_schema(json.load(file))


def operation_of(symbol: str) -> Operation:
    # A symbol this version lacks (written by a newer producer) must reach decide() to be
    # rejected as operation_unknown rather than crash the decoder.
    try:
        return Operation(symbol)
    except ValueError:
        return Operation.UNKNOWN


# --- shared nested records ------------------------------------------------------------------


def _lot_to_record(lot: Lot) -> Record:
    return {
        "lot_id": lot.lot_id,
        "asset": lot.asset,
        "amount": lot.amount,
        "expires_at_ms": lot.expires_at_ms,
        "created_sequence": lot.created_sequence,
    }


def _record_to_lot(record: Record) -> Lot:
    return Lot(
        record["lot_id"],
        record["asset"],
        record["amount"],
        record.get("expires_at_ms"),
        record["created_sequence"],
    )


def _hold_to_record(hold: Hold) -> Record:
    return {
        "hold_id": hold.hold_id,
        "asset": hold.asset,
        "amount": hold.amount,
        "expires_at_ms": hold.expires_at_ms,
        "portions": [_lot_to_record(lot) for lot in hold.portions],
        "sequence": hold.sequence,
    }


def _record_to_hold(record: Record) -> Hold:
    return Hold(
        record["hold_id"],
        record["asset"],
        record["amount"],
        record["expires_at_ms"],
        tuple(_record_to_lot(lot) for lot in record["portions"]),
        record.get("sequence", 0),
    )


def _balance_to_record(balance: Balance) -> Record:
    return {"asset": balance.asset, "available": balance.available, "held": balance.held}


def _record_to_balance(record: Record) -> Balance:
    return Balance(record["asset"], record["available"], record["held"])


def _reversible_to_record(reversible: Reversible) -> Record:
    return {
        "request_id": reversible.request_id,
        "operation": reversible.operation.value,
        "asset": reversible.asset,
        "amount": reversible.amount,
        "reversed_amount": reversible.reversed_amount,
        "lot_id": reversible.lot_id,
        "recorded_at_ms": reversible.recorded_at_ms,
        "expires_at_ms": reversible.expires_at_ms,
    }


def _record_to_reversible(record: Record) -> Reversible:
    return Reversible(
        record["request_id"],
        operation_of(record["operation"]),
        record["asset"],
        record["amount"],
        record["reversed_amount"],
        record.get("lot_id"),
        record["recorded_at_ms"],
        record.get("expires_at_ms"),
    )


def _receipt_to_record(receipt: Receipt) -> Record:
    return {
        "request_id": receipt.request_id,
        "content_hash": receipt.content_hash,
        "sequence": receipt.sequence,
        "operation": receipt.operation.value,
        "remembered_at_ms": receipt.remembered_at_ms,
        "reason": None if receipt.reason is None else receipt.reason.value,
    }


def _record_to_receipt(record: Record) -> Receipt:
    reason = record.get("reason")
    return Receipt(
        record["request_id"],
        record["content_hash"],
        record["sequence"],
        operation_of(record["operation"]),
        record["remembered_at_ms"],
        None if reason is None else Reason(reason),
    )


# --- events ---------------------------------------------------------------------------------


def event_to_record(event: LedgerEvent) -> Record:
    return {
        "event_id": event.event_id,
        "program": event.program,
        "account_id": event.account_id,
        "sequence": event.sequence,
        "status": event.status.value,
        "reason": None if event.reason is None else event.reason.value,
        "original_sequence": event.original_sequence,
        "processed_at_ms": event.processed_at_ms,
        "content_hash": event.content_hash,
        "request": request_to_record(event.request),
        "channel": event.channel.value,
        "postings": [
            {"account": posting.account, "asset": posting.asset, "amount": posting.amount}
            for posting in event.postings
        ],
        "balances": [_balance_to_record(balance) for balance in event.balances],
        "lots": [_lot_to_record(lot) for lot in event.lots],
        "holds_opened": [_hold_to_record(hold) for hold in event.holds_opened],
        "holds_closed": list(event.holds_closed),
        "reversibles": [_reversible_to_record(item) for item in event.reversibles],
        "forgotten_request_ids": list(event.forgotten_request_ids),
        "forgotten_reversibles": list(event.forgotten_reversibles),
        "program_version": event.program_version,
        "region": event.region,
        "epoch": event.epoch,
    }


def record_to_event(record: Record) -> LedgerEvent:
    reason = record.get("reason")
    return LedgerEvent(
        event_id=record["event_id"],
        program=record["program"],
        account_id=record["account_id"],
        sequence=record["sequence"],
        status=Status(record["status"]),
        # A code this version lacks comes from a newer ledger: ValueError, never a guess.
        reason=None if reason is None else Reason(reason),
        original_sequence=record.get("original_sequence"),
        processed_at_ms=record["processed_at_ms"],
        content_hash=record["content_hash"],
        request=record_to_request(record["request"]),
        # Like a reason code: an unknown channel comes from a newer ledger (ValueError).
        channel=Channel(record.get("channel", Channel.PUBLIC.value)),
        postings=tuple(
            Posting(posting["account"], posting["asset"], posting["amount"])
            for posting in record.get("postings") or ()
        ),
        balances=tuple(_record_to_balance(item) for item in record.get("balances") or ()),
        lots=tuple(_record_to_lot(item) for item in record.get("lots") or ()),
        holds_opened=tuple(_record_to_hold(item) for item in record.get("holds_opened") or ()),
        holds_closed=tuple(record.get("holds_closed") or ()),
        reversibles=tuple(_record_to_reversible(item) for item in record.get("reversibles") or ()),
        forgotten_request_ids=tuple(record.get("forgotten_request_ids") or ()),
        forgotten_reversibles=tuple(record.get("forgotten_reversibles") or ()),
        program_version=record.get("program_version", 0),
        region=record.get("region") or "",
        epoch=record.get("epoch", 0),
    )


# --- state ----------------------------------------------------------------------------------


def state_to_record(state: AccountState, memory: bool = True) -> Record:
    """The state as a record; without `memory`, its receipts and reversal records are left
    out (the core's changelog keeps them one per record in their own topics)."""
    return {
        "program": state.program,
        "account_id": state.account_id,
        "sequence": state.sequence,
        "clock_ms": state.clock_ms,
        "balances": [_balance_to_record(balance) for balance in state.balances.values()],
        "lots": [_lot_to_record(lot) for lots in state.lots.values() for lot in lots],
        "holds": [_hold_to_record(hold) for hold in state.holds.values()],
        "receipts": (
            [_receipt_to_record(receipt) for receipt in state.receipts.values()] if memory else []
        ),
        "reversibles": (
            [_reversible_to_record(item) for item in state.reversibles.values()] if memory else []
        ),
        "epoch": state.epoch,
        "moved_to": state.moved_to,
    }


def record_to_state(record: Record) -> AccountState:
    lots: dict[str, list[Lot]] = {}
    for item in record["lots"]:
        lot = _record_to_lot(item)
        lots.setdefault(lot.asset, []).append(lot)
    holds = (_record_to_hold(item) for item in record["holds"])
    receipts = (_record_to_receipt(item) for item in record.get("receipts") or ())
    reversibles = (_record_to_reversible(item) for item in record.get("reversibles") or ())
    balances = (_record_to_balance(item) for item in record["balances"])
    return AccountState(
        program=record["program"],
        account_id=record["account_id"],
        sequence=record["sequence"],
        clock_ms=record["clock_ms"],
        balances={balance.asset: balance for balance in balances},
        lots={asset: tuple(items) for asset, items in lots.items()},
        holds={hold.hold_id: hold for hold in holds},
        receipts={receipt.request_id: receipt for receipt in receipts},
        reversibles={item.request_id: item for item in reversibles},
        epoch=record.get("epoch", 0),
        moved_to=record.get("moved_to") or "",
    )


# --- an account's memory, one record per request id ------------------------------------------


class ReceiptOfAccount(NamedTuple):
    """One record of the receipts topic as a value whose attributes are the schema's fields,
    so the codec writes it straight (AvroCodec.encode_value); `receipt_to_record` is its dict."""

    program: str
    account_id: str
    receipt: Receipt


class ReversibleOfAccount(NamedTuple):
    """One record of the reversal records topic, written straight like ReceiptOfAccount."""

    program: str
    account_id: str
    reversible: Reversible


def receipt_to_record(program: str, account_id: str, receipt: Receipt) -> Record:
    return {"program": program, "account_id": account_id, "receipt": _receipt_to_record(receipt)}


def record_to_receipt(record: Record) -> tuple[str, str, Receipt]:
    return record["program"], record["account_id"], _record_to_receipt(record["receipt"])


def reversible_to_record(program: str, account_id: str, reversible: Reversible) -> Record:
    return {
        "program": program,
        "account_id": account_id,
        "reversible": _reversible_to_record(reversible),
    }


def record_to_reversible(record: Record) -> tuple[str, str, Reversible]:
    return record["program"], record["account_id"], _record_to_reversible(record["reversible"])
