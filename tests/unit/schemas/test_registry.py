"""The registry seam: client errors become codec errors, split into poison and transient."""

from typing import cast

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from schemas.catalogue import SchemaCatalogue
from schemas.codec import AvroCodec
from schemas.exceptions import (
    SchemaRegistrationRejected,
    SchemaRegistryUnavailable,
    UndecodableMessage,
    UnknownSchemaIdError,
)
from schemas.framing import confluent_header
from schemas.registry import ConfluentSchemaRegistry
from tests.unit.schemas.conftest import SAMPLE, sample_record


def _adapter(fake_client: object) -> ConfluentSchemaRegistry:
    return ConfluentSchemaRegistry(cast(SchemaRegistryClient, fake_client))


class FailingClient:
    """Stands in for SchemaRegistryClient, failing every call with the given exception."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def register_schema(self, subject: str, schema: Schema) -> int:
        raise self.error

    def get_schema(self, schema_id: int) -> Schema:
        raise self.error


class ProtobufClient:
    def get_schema(self, schema_id: int) -> Schema:
        return Schema('syntax = "proto3";', "PROTOBUF")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SchemaRegistryError(404, 40403, "Schema not found"), UnknownSchemaIdError),
        (SchemaRegistryError(500, 50001, "Error in the backend"), SchemaRegistryUnavailable),
        (ConnectionRefusedError("connection refused"), SchemaRegistryUnavailable),
        (TimeoutError("read timed out"), SchemaRegistryUnavailable),
    ],
)
def test_lookup_errors(error: Exception, expected: type[Exception]) -> None:
    with pytest.raises(expected):
        _adapter(FailingClient(error)).schema_text(7)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SchemaRegistryError(409, 409, "incompatible schema"), SchemaRegistrationRejected),
        (SchemaRegistryError(422, 42201, "invalid schema"), SchemaRegistrationRejected),
        (SchemaRegistryError(503, 50003, "unavailable"), SchemaRegistryUnavailable),
        (ConnectionRefusedError("connection refused"), SchemaRegistryUnavailable),
    ],
)
def test_registration_errors(error: Exception, expected: type[Exception]) -> None:
    with pytest.raises(expected):
        _adapter(FailingClient(error)).register("t-value", "{}")


def test_a_non_avro_schema_id_is_unknown_to_us() -> None:
    with pytest.raises(UnknownSchemaIdError, match="PROTOBUF"):
        _adapter(ProtobufClient()).schema_text(3)


def test_an_unavailable_registry_is_transient_not_poison(
    fixture_catalogue: SchemaCatalogue,
) -> None:
    codec = AvroCodec(fixture_catalogue, _adapter(FailingClient(OSError("down"))))

    with pytest.raises(SchemaRegistryUnavailable) as raised:
        codec.decode(confluent_header(1) + b"\x00")

    assert not isinstance(raised.value, UndecodableMessage)


class FlakyRegistry:
    """A `SchemaRegistry` whose first lookup fails, then answers from a working one."""

    def __init__(self, working: ConfluentSchemaRegistry) -> None:
        self.working = working
        self.failures_left = 1

    def register(self, subject: str, schema_text: str) -> int:
        return self.working.register(subject, schema_text)

    def schema_text(self, schema_id: int) -> str:
        if self.failures_left:
            self.failures_left -= 1
            raise SchemaRegistryUnavailable("registry down")
        return self.working.schema_text(schema_id)


def test_a_failed_lookup_is_not_cached_and_succeeds_once_the_registry_answers(
    fixture_catalogue: SchemaCatalogue,
) -> None:
    working = ConfluentSchemaRegistry.from_url("mock://registry-recovers")
    data = AvroCodec(fixture_catalogue, working).encode(sample_record(), SAMPLE, topic="t")
    codec = AvroCodec(fixture_catalogue, FlakyRegistry(working))

    with pytest.raises(SchemaRegistryUnavailable):
        codec.decode(data)

    assert codec.decode(data).record == sample_record()
