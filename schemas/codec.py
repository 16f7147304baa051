"""Avro wire codec: records <-> framed Avro bytes, in either of the two framings Kafka users use.

Framings (see schemas/framing.py for the bytes)
------------------------------------------------
- **Avro single-object encoding** (Avro spec): ``C3 01``, then the writer schema's CRC-64-AVRO
  (Rabin) fingerprint of its Parsing Canonical Form as 8 bytes little-endian, then the Avro
  binary body. No service is needed: the fingerprint is looked up in the `SchemaCatalogue`,
  which holds the current ``schemas/*.avsc`` and every released version under
  ``schemas/released/<version>/``, so data written by older producers still decodes. This is
  the default when no schema registry is configured.
- **Confluent wire format**: ``00``, then the Schema Registry id of the writer schema as
  4 bytes big-endian, then the Avro binary body. Encoding registers the current schema under
  the subject ``<topic>-value`` (once per topic, then cached); decoding fetches unknown ids
  from the registry (once per id, then cached). This is the default when a registry is given.

Detection
---------
`AvroCodec.decode` accepts both, whatever the codec's default: the first byte decides
(``C3`` single-object, ``00`` Confluent; anything else is `UnknownFramingError`), so Java
and Python producers of either kind can share a topic.

Resolution
----------
The writer schema named by the frame is resolved into the reader schema, which is always
the current contract of the same full name (Avro schema resolution: added fields take
their defaults, promoted types widen). When the writer *is* the current schema, no
resolution runs. Every writer is checked against its reader with `schemas.compat` once:
released ones when the catalogue loads (an incompatible release refuses to load), registry
ones when their id is first met (SchemaMismatchError), so no body fails half-way through.

Every failure of `decode` is a `CodecError` (schemas/exceptions.py); no fastavro, struct
or EOF error escapes it. Schemas are parsed once; each call only reads or writes the body.

Long on purpose: encoding and decoding share one catalogue and one framing; splitting them would
split one concept. (The catalogue itself is schemas/catalogue.py.)
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any, TypeVar

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.types import Schema
from fastavro.validation import ValidationError, validate

from schemas.catalogue import ContractSchema, SchemaCatalogue, crc64_avro_fingerprint
from schemas.compat import check_backward_compatible
from schemas.compiled_reader import Reader, compile_reader
from schemas.compiled_writer import Writer, compile_writer
from schemas.compiling import UnsupportedSchema
from schemas.exceptions import (
    MalformedBodyError,
    SchemaMismatchError,
    TruncatedMessage,
    UnencodableRecordError,
    UnknownFingerprintError,
    UnknownSchemaIdError,
)
from schemas.framing import (
    FrameHeader,
    Framing,
    confluent_header,
    read_header,
    single_object_header,
)
from schemas.registry import ConfluentSchemaRegistry, SchemaRegistry

# Registry ids a decoder remembers; a deployment has a handful per topic, so reaching the
# bound means something is wrong, and decoding then still works, only uncached.
REGISTRY_SCHEMAS_CACHED_MAX = 1024

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    """A decoded record and where it came from."""

    schema_name: str  # full name of the record, e.g. rewards.ledger.LedgerEvent
    record: dict[str, Any]  # shaped by the current (reader) schema
    framing: Framing
    writer_fingerprint: int  # CRC-64-AVRO of the writer schema, whatever the framing
    writer_schema_id: int | None = None  # registry id, for Confluent frames only


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    """How to read one writer's bodies: resolve `writer` into `reader` (None: same schema)."""

    schema_name: str
    writer: Schema
    reader: Schema | None
    writer_fingerprint: int


class AvroCodec:
    """Encodes records to, and decodes them from, both framings; build once, reuse.

    `registry` is the I/O seam for the Confluent format; without one the codec still
    decodes single-object messages and raises UnknownSchemaIdError for Confluent ones.

    `validate_records` checks every record before writing it: fastavro's writer alone
    silently truncates 1.5 into a long, writes True as 1 and ignores misspelt optional
    fields, and on a ledger a wrong type must not become a wrong amount. The check roughly
    triples the cost of encoding a LedgerEvent; a hot path whose dicts come from typed
    domain values (schemas.records) may turn it off.
    """

    def __init__(
        self,
        catalogue: SchemaCatalogue | None = None,
        registry: SchemaRegistry | None = None,
        *,
        validate_records: bool = True,
        builders: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        """`builders`: how `decode_value` builds values of the current schemas straight from
        their fields (schemas/builders.py); without, it reads records and converts them."""
        self._catalogue = catalogue if catalogue is not None else SchemaCatalogue.load()
        self._registry = registry
        self._validate_records = validate_records
        # Compiled writers per current schema (None: not compilable, fastavro writes it).
        self._compiled: dict[tuple[str, bool], Writer | None] = {}
        self._builders = builders or {}
        self._compiled_readers: dict[tuple[str, bool], Reader | None] = {}
        self._plans_by_fingerprint = {
            writer.fingerprint: self._plan_for(writer.full_name, writer.parsed)
            for writer in self._catalogue.writers
        }
        self._plans_by_schema_id: dict[int, _ReadPlan] = {}
        self._schema_ids: dict[tuple[str, str], int] = {}  # (subject, schema name) -> id

    @classmethod
    def from_registry_url(cls, schema_registry_url: str | None) -> "AvroCodec":
        """The codec for a deployment: Confluent framing when a registry URL is set."""
        registry = (
            ConfluentSchemaRegistry.from_url(schema_registry_url) if schema_registry_url else None
        )
        return cls(SchemaCatalogue.load(), registry)

    @property
    def catalogue(self) -> SchemaCatalogue:
        return self._catalogue

    @property
    def default_framing(self) -> Framing:
        """Confluent when a registry is configured, single-object otherwise."""
        return Framing.CONFLUENT if self._registry is not None else Framing.SINGLE_OBJECT

    def encode(
        self,
        record: Mapping[str, Any],
        schema_name: str,
        *,
        topic: str | None = None,
        framing: Framing | None = None,
    ) -> bytes:
        """Frame `record` written with the current schema `schema_name` (a full name).

        `topic` names the registry subject ``<topic>-value`` and is required for the
        Confluent framing. Raises UnknownSchemaNameError, UnencodableRecordError, and for
        the Confluent framing SchemaRegistryUnavailable or SchemaRegistrationRejected.
        """
        contract = self._catalogue.current(schema_name)
        header = self._header(contract, topic, framing)
        if not self._validate_records:
            writer = self._compiled_writer(contract)
            if writer is not None:
                out = bytearray(header)
                try:
                    writer(record, out)
                except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as error:
                    raise UnencodableRecordError(
                        f"record does not fit {schema_name}: {error!r}"
                    ) from error
                return bytes(out)
        buffer = BytesIO()
        buffer.write(header)
        try:
            if self._validate_records:
                validate(record, contract.parsed, raise_errors=True)
            schemaless_writer(
                buffer, contract.parsed, record, strict_allow_default=self._validate_records
            )
        except (ValidationError, ValueError, TypeError, OverflowError) as error:
            raise UnencodableRecordError(f"record does not fit {schema_name}: {error}") from error
        return buffer.getvalue()

    def encode_value(
        self,
        value: object,
        schema_name: str,
        as_record: Callable[[Any], Mapping[str, Any]],
        *,
        topic: str | None = None,
    ) -> bytes:
        """Frame a domain value whose attributes are the schema's fields, written straight
        from its attributes (no record dict on the hot path); `as_record(value)` is what
        `encode` writes instead when records are validated. Raises as `encode` does."""
        contract = self._catalogue.current(schema_name)
        writer = None if self._validate_records else self._compiled_writer(contract, True)
        if writer is None:
            return self.encode(as_record(value), schema_name, topic=topic)
        out = bytearray(self._header(contract, topic, None))
        try:
            writer(value, out)
        except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as error:
            raise UnencodableRecordError(f"value does not fit {schema_name}: {error!r}") from error
        return bytes(out)

    def _header(
        self, contract: ContractSchema, topic: str | None, framing: Framing | None
    ) -> bytes:
        framing = framing or self.default_framing
        if framing is Framing.SINGLE_OBJECT:
            return single_object_header(contract.fingerprint)
        return confluent_header(self._registered_schema_id(contract, topic))

    def _compiled_writer(self, contract: ContractSchema, attributes: bool = False) -> Writer | None:
        key = (contract.full_name, attributes)
        if key not in self._compiled:
            try:
                writer: Writer | None = compile_writer(json.loads(contract.text), attributes)
            except UnsupportedSchema:
                writer = None
            self._compiled[key] = writer
        return self._compiled[key]

    def _compiled_reader(self, schema_name: str, built: bool) -> Reader | None:
        key = (schema_name, built)
        if key not in self._compiled_readers:
            contract = self._catalogue.current(schema_name)
            try:
                schema = json.loads(contract.text)
                reader: Reader | None = compile_reader(schema, self._builders if built else None)
            except UnsupportedSchema:
                reader = None
            self._compiled_readers[key] = reader
        return self._compiled_readers[key]

    def decode_value(
        self, data: bytes, expected_schema: str, from_record: Callable[[dict[str, Any]], _T]
    ) -> _T:
        """The value in `data`: built straight from the body when it was written with the
        current schema and a builder exists, else `from_record(the decoded record)`. Raises
        what `decode` raises; a record `from_record` refuses is a MalformedBodyError."""
        plan, header = self._plan(data, expected_schema)
        if plan.reader is None and plan.schema_name in self._builders:
            value: _T = self._read_body(data, plan, header, built=True)
            return value
        record = self._read_body(data, plan, header, built=False)
        try:
            return from_record(record)
        except (KeyError, ValueError, TypeError) as error:
            raise MalformedBodyError(
                f"{expected_schema} record is not a valid value: {error!r}"
            ) from error

    def decode(self, data: bytes, expected_schema: str | None = None) -> DecodedMessage:
        """Detect the framing, find the writer schema, and read the record as the current schema.

        With `expected_schema` (a full name), any other record raises SchemaMismatchError.
        Raises only CodecError subclasses: TruncatedMessage, UnknownFramingError,
        UnknownFingerprintError, UnknownSchemaIdError, MalformedBodyError,
        SchemaMismatchError, SchemaRegistryUnavailable.
        """
        plan, header = self._plan(data, expected_schema)
        return DecodedMessage(
            schema_name=plan.schema_name,
            record=self._read_body(data, plan, header, built=False),
            framing=header.framing,
            writer_fingerprint=plan.writer_fingerprint,
            writer_schema_id=None if header.framing is Framing.SINGLE_OBJECT else header.writer_key,
        )

    def _plan(self, data: bytes, expected_schema: str | None) -> tuple[_ReadPlan, FrameHeader]:
        header = read_header(data)
        if header.framing is Framing.SINGLE_OBJECT:
            plan = self._plans_by_fingerprint.get(header.writer_key)
            if plan is None:
                raise UnknownFingerprintError(
                    f"no current or released schema has fingerprint {header.writer_key:016x}"
                )
        else:
            plan = self._plan_for_schema_id(header.writer_key)
        if expected_schema is not None and plan.schema_name != expected_schema:
            raise SchemaMismatchError(f"expected {expected_schema}, got {plan.schema_name}")
        return plan, header

    def _read_body(self, data: bytes, plan: _ReadPlan, header: FrameHeader, built: bool) -> Any:
        """The body as the current schema (a dict, or a built value when `built`)."""
        compiled = self._compiled_reader(plan.schema_name, built) if plan.reader is None else None
        record: Any
        try:
            if compiled is not None:  # written with the current schema: nothing to resolve
                record, end = compiled(data, header.body_offset)
            else:
                body = BytesIO(data)
                body.seek(header.body_offset)
                record = schemaless_reader(body, plan.writer, plan.reader)
                end = body.tell()
        except EOFError as error:
            raise TruncatedMessage(f"{plan.schema_name} body ends before the record") from error
        # Garbage bodies make fastavro's compiled reader fail in many ways (IndexError for a
        # bad union or enum index, UnicodeDecodeError, ValueError, MemoryError on absurd
        # lengths...); none is documented as a closed set, and all mean the same thing here.
        except Exception as error:
            raise MalformedBodyError(
                f"{plan.schema_name} body does not decode: {type(error).__name__}: {error}"
            ) from error
        if end != len(data):
            raise MalformedBodyError(
                f"{len(data) - end} trailing bytes after the {plan.schema_name} body"
            )
        return record

    def _registered_schema_id(self, contract: ContractSchema, topic: str | None) -> int:
        if self._registry is None:
            raise ValueError("the Confluent framing needs a schema registry")
        if not topic:
            raise ValueError("the Confluent framing needs the topic (subject <topic>-value)")
        subject = f"{topic}-value"
        key = (subject, contract.full_name)
        schema_id = self._schema_ids.get(key)
        if schema_id is None:
            schema_id = self._registry.register(subject, contract.text)
            self._schema_ids[key] = schema_id
            self._plans_by_schema_id.setdefault(schema_id, self._plan_for_current(contract))
        return schema_id

    def _plan_for_schema_id(self, schema_id: int) -> _ReadPlan:
        plan = self._plans_by_schema_id.get(schema_id)
        if plan is not None:
            return plan
        if self._registry is None:
            raise UnknownSchemaIdError(
                f"Confluent frame with schema id {schema_id}, but no schema registry is configured"
            )
        plan = self._plan_for_registry_schema(schema_id, self._registry.schema_text(schema_id))
        if len(self._plans_by_schema_id) < REGISTRY_SCHEMAS_CACHED_MAX:
            self._plans_by_schema_id[schema_id] = plan
        return plan

    def _plan_for_registry_schema(self, schema_id: int, schema_text: str) -> _ReadPlan:
        try:
            writer = parse_schema(json.loads(schema_text))
        # The registry accepted it, yet fastavro cannot parse it alone: typically a schema
        # with references to other subjects, which this codec does not follow.
        except Exception as error:
            raise SchemaMismatchError(
                f"registry schema id {schema_id} does not parse as a standalone Avro schema: "
                f"{error}"
            ) from error
        name = writer.get("name") if isinstance(writer, dict) else None
        if not isinstance(name, str) or name not in self._catalogue.names:
            raise SchemaMismatchError(
                f"registry schema id {schema_id} is {name or 'an unnamed schema'}, "
                f"not one of {sorted(self._catalogue.names)}"
            )
        return self._plan_for(name, writer)

    def _plan_for_current(self, contract: ContractSchema) -> _ReadPlan:
        return _ReadPlan(contract.full_name, contract.parsed, None, contract.fingerprint)

    def _plan_for(self, schema_name: str, writer: Schema) -> _ReadPlan:
        reader = self._catalogue.current(schema_name)
        writer_fingerprint = crc64_avro_fingerprint(writer)
        if writer_fingerprint == reader.fingerprint:
            return self._plan_for_current(reader)
        problems = check_backward_compatible(reader.parsed, writer)
        if problems:
            raise SchemaMismatchError(
                f"current {schema_name} cannot read this writer schema: " + "; ".join(problems)
            )
        return _ReadPlan(schema_name, writer, reader.parsed, writer_fingerprint)
