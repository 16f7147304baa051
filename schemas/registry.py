"""The codec's only I/O seam: a Confluent Schema Registry, reduced to the two calls it needs.

`SchemaRegistry` is the port; `ConfluentSchemaRegistry` adapts confluent-kafka's
`SchemaRegistryClient` to it and translates the client's errors into codec errors. Tests and
local runs use the same adapter over the client's in-memory registry (``mock://`` URLs).
"""

from typing import Any, Protocol

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from schemas.exceptions import (
    SchemaRegistrationRejected,
    SchemaRegistryUnavailable,
    UnknownSchemaIdError,
)

_HTTP_NOT_FOUND = 404
_HTTP_CLIENT_ERRORS = range(400, 500)
_AVRO = "AVRO"


class SchemaRegistry(Protocol):
    """Where Confluent-framed messages get their schema ids and writer schemas."""

    def register(self, subject: str, schema_text: str) -> int:
        """Register an Avro schema (JSON text) under a subject; return its id.

        Registering a schema already present returns the existing id. Raises
        SchemaRegistrationRejected when the registry refuses the schema (incompatible, invalid)
        and SchemaRegistryUnavailable when it cannot answer.
        """
        ...

    def schema_text(self, schema_id: int) -> str:
        """Return the Avro schema (JSON text) registered under an id.

        Raises UnknownSchemaIdError when there is no Avro schema under the id, and
        SchemaRegistryUnavailable when the registry cannot answer.
        """
        ...


class ConfluentSchemaRegistry:
    """`SchemaRegistry` over confluent-kafka's client (HTTP, or in-memory for ``mock://``)."""

    def __init__(self, client: SchemaRegistryClient) -> None:
        self._client = client

    @classmethod
    def from_url(cls, url: str, **client_conf: Any) -> "ConfluentSchemaRegistry":
        """Build the client from a registry URL; ``mock://<name>`` gives an in-memory one.

        `new_client` is the factory that knows about ``mock://``; the plain constructor would
        try HTTP against it.
        """
        return cls(SchemaRegistryClient.new_client({"url": url, **client_conf}))

    def register(self, subject: str, schema_text: str) -> int:
        try:
            schema_id: int = self._client.register_schema(subject, Schema(schema_text, _AVRO))
        except SchemaRegistryError as error:
            if error.http_status_code in _HTTP_CLIENT_ERRORS:
                raise SchemaRegistrationRejected(
                    f"registry refused the schema under subject {subject!r}: {error}"
                ) from error
            raise SchemaRegistryUnavailable(
                f"registry failed to register under subject {subject!r}: {error}"
            ) from error
        # Transport errors (connection refused, timeouts) come from the HTTP library, not
        # as SchemaRegistryError; they are transient by nature.
        except Exception as error:
            raise SchemaRegistryUnavailable(
                f"cannot register schema under subject {subject!r}: {error}"
            ) from error
        return schema_id

    def schema_text(self, schema_id: int) -> str:
        try:
            schema = self._client.get_schema(schema_id)
        except SchemaRegistryError as error:
            if error.http_status_code == _HTTP_NOT_FOUND:
                raise UnknownSchemaIdError(
                    f"schema id {schema_id} is not in the registry"
                ) from error
            raise SchemaRegistryUnavailable(
                f"registry failed to return schema id {schema_id}: {error}"
            ) from error
        # Transport errors (connection refused, timeouts) come from the HTTP library, not
        # as SchemaRegistryError; they are transient by nature.
        except Exception as error:
            raise SchemaRegistryUnavailable(
                f"registry unreachable for schema id {schema_id}: {error}"
            ) from error
        if (schema.schema_type or _AVRO) != _AVRO or schema.schema_str is None:
            raise UnknownSchemaIdError(
                f"schema id {schema_id} is a {schema.schema_type} schema, not Avro"
            )
        text: str = schema.schema_str
        return text
