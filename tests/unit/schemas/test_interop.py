"""Interop as other teams would do it: no code of ours on the producing or consuming side.

- An upstream team with only the .avsc files and plain fastavro frames single-object messages
  by hand, fingerprint included, and our decoder reads them.
- A producer using confluent-kafka's own AvroSerializer (what Java and Python producers do
  with a Schema Registry) writes Confluent frames our decoder reads; and confluent-kafka's
  AvroDeserializer reads the Confluent frames we write.
"""

import json
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import parse_schema, schemaless_writer
from fastavro.schema import to_parsing_canonical_form
from fastavro.utils import generate_one

from schemas.catalogue import SCHEMAS_DIRECTORY, SchemaCatalogue
from schemas.codec import AvroCodec
from schemas.framing import Framing
from schemas.registry import ConfluentSchemaRegistry
from tests.unit.schemas.conftest import LEDGER_EVENT, ledger_event_record

TOPIC = "rewards.events"
CONTEXT = SerializationContext(TOPIC, MessageField.VALUE)

# --- what an upstream team writes, from the Avro specification alone ----------------------

CRC_64_AVRO_EMPTY = 0xC15D213AA4D7A795


def upstream_rabin_fingerprint(data: bytes) -> int:
    """CRC-64-AVRO as the Avro spec defines it, bit by bit rather than by table."""
    fingerprint = CRC_64_AVRO_EMPTY
    for byte in data:
        fingerprint ^= byte
        for _ in range(8):
            fingerprint = (fingerprint >> 1) ^ (CRC_64_AVRO_EMPTY if fingerprint & 1 else 0)
    return fingerprint


def upstream_single_object_message(avsc_path: Path, record: dict[str, Any]) -> bytes:
    schema = parse_schema(json.loads(avsc_path.read_text("utf-8")))
    canonical_form = to_parsing_canonical_form(schema).encode("utf-8")
    fingerprint = upstream_rabin_fingerprint(canonical_form)
    body = BytesIO()
    schemaless_writer(body, schema, record)
    return b"\xc3\x01" + fingerprint.to_bytes(8, "little") + body.getvalue()


def test_upstream_fingerprint_agrees_with_the_spec_vector() -> None:
    assert upstream_rabin_fingerprint(b'"null"') == 7195948357588979594


def test_a_message_framed_by_hand_with_plain_fastavro_decodes(
    contract_catalogue: SchemaCatalogue,
) -> None:
    data = upstream_single_object_message(
        SCHEMAS_DIRECTORY / "ledger_event.avsc", ledger_event_record()
    )

    decoded = AvroCodec(contract_catalogue).decode(data)

    assert decoded.schema_name == LEDGER_EVENT
    assert decoded.framing is Framing.SINGLE_OBJECT
    assert decoded.record == ledger_event_record()


@pytest.mark.parametrize("file_name", ["transaction_request.avsc", "account_state.avsc"])
def test_every_contract_framed_by_hand_decodes(
    file_name: str, contract_catalogue: SchemaCatalogue, seeded_random: None
) -> None:
    avsc_path = SCHEMAS_DIRECTORY / file_name
    record = generate_one(parse_schema(json.loads(avsc_path.read_text("utf-8"))))

    decoded = AvroCodec(contract_catalogue).decode(
        upstream_single_object_message(avsc_path, record)
    )

    assert decoded.record == record


# --- confluent-kafka's own serializers -------------------------------------------------------


def test_a_message_from_confluents_avro_serializer_decodes(
    contract_catalogue: SchemaCatalogue, registry_client: SchemaRegistryClient
) -> None:
    avsc_text = (SCHEMAS_DIRECTORY / "ledger_event.avsc").read_text("utf-8")
    serializer = AvroSerializer(registry_client, avsc_text)
    data = serializer(ledger_event_record(), CONTEXT)
    codec = AvroCodec(contract_catalogue, ConfluentSchemaRegistry(registry_client))

    decoded = codec.decode(data)

    registered = registry_client.get_latest_version(f"{TOPIC}-value")
    assert decoded.framing is Framing.CONFLUENT
    assert decoded.writer_schema_id == registered.schema_id
    assert decoded.record == ledger_event_record()


def test_our_confluent_frames_are_read_by_confluents_avro_deserializer(
    contract_catalogue: SchemaCatalogue, registry_client: SchemaRegistryClient
) -> None:
    codec = AvroCodec(contract_catalogue, ConfluentSchemaRegistry(registry_client))
    data = codec.encode(ledger_event_record(), LEDGER_EVENT, topic=TOPIC)

    record = AvroDeserializer(registry_client)(data, CONTEXT)

    assert record == ledger_event_record()
