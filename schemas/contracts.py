"""The three contracts as domain values on the wire: encode/decode requests, events, states.

One object per process wraps the codec (framings, registry) and the record mapping, so the
processors, the read side and the gateway never handle Avro dicts themselves. A message that
decodes as Avro but cannot become a domain value (an enum symbol we do not know, a missing
field in a hand-made record) is as poisonous as garbage bytes, so it raises
`UndecodableMessage` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ledger.model import AccountState, LedgerEvent, Receipt, Request, Reversible
from schemas.builders import BUILDERS
from schemas.catalogue import SchemaCatalogue
from schemas.codec import AvroCodec
from schemas.exceptions import LimitExceededError
from schemas.limits import request_violations
from schemas.partitioning import account_key
from schemas.records import (
    ReceiptOfAccount,
    Record,
    ReversibleOfAccount,
    event_to_record,
    receipt_to_record,
    record_to_event,
    record_to_receipt,
    record_to_request,
    record_to_reversible,
    record_to_state,
    request_to_record,
    reversible_to_record,
    state_to_record,
)
from schemas.registry import ConfluentSchemaRegistry

TRACE_HEADER = "ledger.trace-id"
"""Kafka header naming the trace a request belongs to (set by the gateway or any producer);
the core copies it onto every record the request causes."""

REPLY_TO_HEADER = "ledger.reply-to"
"""Kafka header naming the gateway process that waits for this request's outcome (its reply
channel, readmodel/keys.py). The core copies it onto the request's event and the mirror
publishes the outcome there only, so a gateway hears its own outcomes, not everyone's."""

HOME_HEADER = "ledger.home"
"""On an outbox record: the region the request is for (its account's home)."""
INPUT_HEADER = "ledger.input"
"""On an outbox record: the input topic it came in on, after the prefix (`requests`,
`operator-requests`, `internal-requests`); the home's relay writes it to its own topic of that
name, which grants the same channel there."""


def memory_key(program: str, account_id: str, request_id: str) -> bytes:
    """The key of one receipt or reversal record of an account: the account's key, length
    first so that no two (account, request_id) pairs can share a key, then the request_id."""
    account = account_key(program, account_id)
    return len(account).to_bytes(4, "big") + account + request_id.encode()


def split_memory_key(key: bytes) -> tuple[bytes, str]:
    """(account key, request_id) of a `memory_key`."""
    length = int.from_bytes(key[:4], "big")
    return key[4 : 4 + length], key[4 + length :].decode()


REQUEST = "rewards.ledger.TransactionRequest"
EVENT = "rewards.ledger.LedgerEvent"
STATE = "rewards.ledger.AccountState"
STATE_RECEIPT = "rewards.ledger.StateReceipt"
STATE_REVERSIBLE = "rewards.ledger.StateReversible"

_T = TypeVar("_T")


class WireContracts:
    def __init__(self, codec: AvroCodec) -> None:
        self.codec = codec

    @classmethod
    def for_registry(cls, schema_registry_url: str | None) -> WireContracts:
        """The contracts of a deployment: Confluent framing when a registry URL is set.

        Records are written without fastavro's per-record validation: they are built by
        `schemas.records` from typed domain values (ints stay ints, mypy checks it), and the
        check would triple the cost of encoding on the core's hot path.
        """
        registry = (
            ConfluentSchemaRegistry.from_url(schema_registry_url) if schema_registry_url else None
        )
        return cls(
            AvroCodec(SchemaCatalogue.load(), registry, validate_records=False, builders=BUILDERS)
        )

    def encode_request(self, request: Request, topic: str) -> bytes:
        if request.carried_state is not None:  # an INSTALL: its state is encoded as a body
            return self.codec.encode(request_to_record(request), REQUEST, topic=topic)
        return self.codec.encode_value(request, REQUEST, request_to_record, topic=topic)

    def encode_event(self, event: LedgerEvent, topic: str) -> bytes:
        if event.request.carried_state is not None:
            return self.codec.encode(event_to_record(event), EVENT, topic=topic)
        return self.codec.encode_value(event, EVENT, event_to_record, topic=topic)

    def encode_state(self, state: AccountState, topic: str, memory: bool = True) -> bytes:
        """`memory=False`: without receipts and reversal records (see encode_receipt)."""
        return self.codec.encode(state_to_record(state, memory), STATE, topic=topic)

    def encode_receipt(self, program: str, account_id: str, receipt: Receipt, topic: str) -> bytes:
        return self.codec.encode_value(
            ReceiptOfAccount(program, account_id, receipt),
            STATE_RECEIPT,
            lambda value: receipt_to_record(*value),
            topic=topic,
        )

    def encode_reversible(
        self, program: str, account_id: str, reversible: Reversible, topic: str
    ) -> bytes:
        return self.codec.encode_value(
            ReversibleOfAccount(program, account_id, reversible),
            STATE_REVERSIBLE,
            lambda value: reversible_to_record(*value),
            topic=topic,
        )

    def decode_request(self, data: bytes) -> Request:
        """Raises UndecodableMessage, LimitExceededError for a request over a size limit."""
        request = self._decode(data, REQUEST, record_to_request)
        violations = request_violations(request)
        if violations:
            raise LimitExceededError("; ".join(violations))
        return request

    def decode_event(self, data: bytes) -> LedgerEvent:
        return self._decode(data, EVENT, record_to_event)

    def decode_state(self, data: bytes) -> AccountState:
        return self._decode(data, STATE, record_to_state)

    def decode_receipt(self, data: bytes) -> tuple[str, str, Receipt]:
        return self._decode(data, STATE_RECEIPT, record_to_receipt)

    def decode_reversible(self, data: bytes) -> tuple[str, str, Reversible]:
        return self._decode(data, STATE_REVERSIBLE, record_to_reversible)

    def _decode(self, data: bytes, schema: str, convert: Callable[[Record], _T]) -> _T:
        return self.codec.decode_value(data, schema, convert)
