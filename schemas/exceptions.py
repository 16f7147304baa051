"""Errors of the Avro wire codec, all rooted in one base class.

The split that matters to a caller is poison versus transient: an `UndecodableMessage` will
never decode however often it is retried, so a consumer dead-letters it; a
`SchemaRegistryUnavailable` may succeed later, so a consumer retries it.

    CodecError
    ├── UndecodableMessage             the bytes can never become a record: dead-letter them
    │   ├── TruncatedMessage           ends inside the frame header or inside the Avro body
    │   ├── UnknownFramingError        first bytes are neither single-object nor Confluent
    │   ├── UnknownWriterSchemaError   the frame names a writer schema we cannot obtain
    │   │   ├── UnknownFingerprintError    single-object fingerprint not in the catalogue
    │   │   └── UnknownSchemaIdError       Confluent id unknown to (or without) a registry
    │   ├── MalformedBodyError         body does not decode against the writer schema,
    │   │                              or bytes are left over after it
    │   │   └── LimitExceededError     a request breaks a size limit of the contract
    │   └── SchemaMismatchError        writer schema cannot be read as the expected record
    ├── SchemaRegistryUnavailable      the registry could not answer: retry later
    ├── SchemaRegistrationRejected     the registry refused our schema (e.g. incompatible)
    ├── UnencodableRecordError         encode() got a record that does not fit its schema
    ├── UnknownSchemaNameError         encode() got a schema name the catalogue does not have
    └── UnsupportedSchema              a compiled writer or reader cannot take a schema;
                                       fastavro does (compiling.py, caught by the codec)
"""


class CodecError(Exception):
    """Root of every error raised by the codec."""


class UndecodableMessage(CodecError):
    """The message can never be decoded by this codec; retrying will not help."""


class TruncatedMessage(UndecodableMessage):
    """The message ends before its frame header or its Avro body is complete."""


class UnknownFramingError(UndecodableMessage):
    """The first bytes match neither Avro single-object encoding nor the Confluent format."""


class UnknownWriterSchemaError(UndecodableMessage):
    """The frame refers to a writer schema that cannot be found."""


class UnknownFingerprintError(UnknownWriterSchemaError):
    """No current or released schema has the fingerprint of a single-object frame."""


class UnknownSchemaIdError(UnknownWriterSchemaError):
    """The schema registry has no Avro schema under the id of a Confluent frame."""


class MalformedBodyError(UndecodableMessage):
    """The Avro body does not decode against its writer schema, or has trailing bytes."""


class LimitExceededError(MalformedBodyError):
    """A request decodes but breaks a size limit of the contract (schemas/limits.py)."""


class SchemaMismatchError(UndecodableMessage):
    """The writer schema is not the expected record, or cannot be resolved into our reader."""


class SchemaRegistryUnavailable(CodecError):
    """The schema registry failed to answer; the same message may decode later."""


class SchemaRegistrationRejected(CodecError):
    """The registry refused to register our schema, e.g. as incompatible with the subject."""


class UnencodableRecordError(CodecError):
    """The record given to encode() does not conform to its schema."""


class UnknownSchemaNameError(CodecError):
    """encode() was asked for a schema full name that the catalogue does not hold."""
