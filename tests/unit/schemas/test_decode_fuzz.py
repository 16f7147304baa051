"""Whatever bytes arrive, decode() returns a record or raises a CodecError, nothing else.

A consumer dead-letters on UndecodableMessage; any other exception escaping decode() would
crash the processing loop on one poison message.
"""

import contextlib
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.model import AccountState, Balance, Lot, Operation, Request
from schemas.catalogue import SchemaCatalogue
from schemas.codec import AvroCodec, DecodedMessage
from schemas.contracts import WireContracts
from schemas.exceptions import CodecError
from schemas.framing import confluent_header, single_object_header
from schemas.registry import ConfluentSchemaRegistry
from tests.unit.schemas.conftest import LEDGER_EVENT, ledger_event_record

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOPIC = "rewards.events"

_catalogue = SchemaCatalogue.load()
_registry = ConfluentSchemaRegistry(SchemaRegistryClient.new_client({"url": "mock://fuzz"}))
_codec = AvroCodec(_catalogue, _registry)
_valid_messages = [
    _codec.encode(ledger_event_record(), LEDGER_EVENT, topic=TOPIC),
    _codec.encode(ledger_event_record(), LEDGER_EVENT, topic=TOPIC)[5:],  # bare body
    AvroCodec(_catalogue).encode(ledger_event_record(), LEDGER_EVENT),
]
_headers = [single_object_header(writer.fingerprint) for writer in _catalogue.writers] + [
    _valid_messages[0][:5]
]


def _decode_or_codec_error(data: bytes) -> DecodedMessage | CodecError:
    try:
        return _codec.decode(data)
    except CodecError as error:
        return error


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    _decode_or_codec_error(data)


@FUZZ
@given(st.sampled_from(_headers), st.binary(max_size=300))
def test_known_writer_with_an_arbitrary_body(header: bytes, body: bytes) -> None:
    _decode_or_codec_error(header + body)


@FUZZ
@given(st.integers(0, 2**32 - 1), st.binary(max_size=100))
def test_any_confluent_schema_id(schema_id: int, body: bytes) -> None:
    _decode_or_codec_error(confluent_header(schema_id) + body)


@FUZZ
@given(st.sampled_from(_valid_messages), st.data())
def test_mutated_valid_messages(message: bytes, data: Any) -> None:
    mutated = bytearray(message)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        action = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        if action == "replace":
            mutated[position] = data.draw(st.integers(0, 255))
        elif action == "delete" and len(mutated) > 1:
            del mutated[position]
        elif action == "insert":
            mutated.insert(position, data.draw(st.integers(0, 255)))
        else:
            del mutated[position:]
            break
    _decode_or_codec_error(bytes(mutated))


def _install_request() -> bytes:
    """An INSTALL as the core writes it: its carried state nested, single-object encoded."""
    state = AccountState(
        "acme",
        "ann",
        sequence=4,
        clock_ms=1_000,
        balances={"points": Balance("points", 70, 30)},
        lots={"points": (Lot("acme:ann:1", "points", 70, 5_000, 1),)},
        epoch=2,
    )
    install = Request(
        "install:ann:4",
        "acme",
        "ann",
        Operation.INSTALL,
        "",
        requested_at_ms=1_000,
        to_region="us",
        carried_state=state,
    )
    return _contracts.encode_request(install, "rewards.internal-requests")


_contracts = WireContracts.for_registry(None)
_install = _install_request()


@FUZZ
@given(st.data())
def test_mutated_installs_decode_to_a_request_or_a_codec_error(data: Any) -> None:
    # Through the builders, which decode the carried state inside the request's body.
    mutated = bytearray(_install)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(CodecError):
        _contracts.decode_request(bytes(mutated))
