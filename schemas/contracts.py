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

from ledger.model import AccountState, LedgerEvent, Request
from schemas.codec import AvroCodec, SchemaCatalogue
from schemas.exceptions import LimitExceededError, MalformedBodyError
from schemas.limits import request_violations
from schemas.records import (
    Record,
    event_to_record,
    record_to_event,
    record_to_request,
    record_to_state,
    request_to_record,
    state_to_record,
)
from schemas.registry import ConfluentSchemaRegistry

TRACE_HEADER = "ledger.trace-id"
"""Kafka header naming the trace a request belongs to (set by the gateway or any producer);
the core copies it onto every record the request causes."""


def account_key(program: str, account_id: str) -> bytes:
    """The record key of an account on every ledger topic: `program:account_id`."""
    return f"{program}:{account_id}".encode()


REQUEST = "rewards.ledger.TransactionRequest"
EVENT = "rewards.ledger.LedgerEvent"
STATE = "rewards.ledger.AccountState"

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
        return cls(AvroCodec(SchemaCatalogue.load(), registry, validate_records=False))

    def encode_request(self, request: Request, topic: str) -> bytes:
        return self.codec.encode(request_to_record(request), REQUEST, topic=topic)

    def encode_event(self, event: LedgerEvent, topic: str) -> bytes:
        return self.codec.encode(event_to_record(event), EVENT, topic=topic)

    def encode_state(self, state: AccountState, topic: str) -> bytes:
        return self.codec.encode(state_to_record(state), STATE, topic=topic)

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

    def _decode(self, data: bytes, schema: str, convert: Callable[[Record], _T]) -> _T:
        record = self.codec.decode(data, expected_schema=schema).record
        try:
            return convert(record)
        except (KeyError, ValueError, TypeError) as error:
            raise MalformedBodyError(f"{schema} record is not a valid value: {error!r}") from error
