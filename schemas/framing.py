"""The two frame headers that can precede an Avro binary body, and how to tell them apart.

This module knows bytes only, not Avro: it reads and writes the header, says which framing it
is, which writer schema it names, and where the body starts.

- Avro single-object encoding (Avro spec, "Single-object encoding"):
  ``C3 01`` + the writer schema's CRC-64-AVRO fingerprint as 8 bytes little-endian + body.
- Confluent wire format: ``00`` + the registry's schema id as 4 bytes big-endian + body.

The first byte decides: ``C3`` can never start a Confluent frame and ``00`` never a
single-object one, so detection needs no guessing.
"""

import enum
import struct
from typing import NamedTuple

from schemas.exceptions import TruncatedMessage, UnknownFramingError

SINGLE_OBJECT_MARKER = b"\xc3\x01"
SINGLE_OBJECT_HEADER_BYTES = 10
CONFLUENT_MAGIC_BYTE = 0x00
CONFLUENT_HEADER_BYTES = 5

_FINGERPRINT = struct.Struct("<Q")
_SCHEMA_ID = struct.Struct(">I")
_SINGLE_OBJECT_FIRST_BYTE = SINGLE_OBJECT_MARKER[0]
# Confluent's newer format (magic 1 + 16-byte schema GUID) is recognised only to name it in
# the error: ids are what our registry seam speaks.
_CONFLUENT_GUID_MAGIC_BYTE = 0x01


class Framing(enum.Enum):
    """How the writer schema is named in front of the Avro body."""

    SINGLE_OBJECT = "single-object"
    CONFLUENT = "confluent"


class FrameHeader(NamedTuple):
    """What the header says: the framing, the writer's fingerprint or id, and the body start.

    A tuple rather than a frozen dataclass: one is built per decoded message, and tuples are
    several times cheaper to create.
    """

    framing: Framing
    writer_key: int  # CRC-64-AVRO fingerprint (single-object) or schema id (Confluent)
    body_offset: int


def read_header(data: bytes) -> FrameHeader:
    """Detect the framing from the first bytes and read the header.

    Raises TruncatedMessage when the data ends inside a header, UnknownFramingError otherwise
    when the first bytes are no known header.
    """
    if not data:
        raise TruncatedMessage("empty message: no frame header")
    first_byte = data[0]
    if first_byte == _SINGLE_OBJECT_FIRST_BYTE:
        if len(data) >= 2 and data[1] != SINGLE_OBJECT_MARKER[1]:
            raise UnknownFramingError(
                f"single-object marker C3 followed by {data[1]:02X}, expected 01 "
                "(unsupported single-object format version)"
            )
        if len(data) < SINGLE_OBJECT_HEADER_BYTES:
            raise TruncatedMessage(
                f"single-object header needs {SINGLE_OBJECT_HEADER_BYTES} bytes, got {len(data)}"
            )
        (fingerprint,) = _FINGERPRINT.unpack_from(data, 2)
        return FrameHeader(Framing.SINGLE_OBJECT, fingerprint, SINGLE_OBJECT_HEADER_BYTES)
    if first_byte == CONFLUENT_MAGIC_BYTE:
        if len(data) < CONFLUENT_HEADER_BYTES:
            raise TruncatedMessage(
                f"Confluent header needs {CONFLUENT_HEADER_BYTES} bytes, got {len(data)}"
            )
        (schema_id,) = _SCHEMA_ID.unpack_from(data, 1)
        return FrameHeader(Framing.CONFLUENT, schema_id, CONFLUENT_HEADER_BYTES)
    if first_byte == _CONFLUENT_GUID_MAGIC_BYTE:
        raise UnknownFramingError(
            "Confluent magic byte 01 (schema GUID) is not supported; produce with schema ids"
        )
    raise UnknownFramingError(
        f"first byte {first_byte:02X} starts no known framing "
        "(expected C3 01 single-object or 00 Confluent)"
    )


def single_object_header(fingerprint: int) -> bytes:
    """The 10-byte single-object header for a writer schema's CRC-64-AVRO fingerprint."""
    return SINGLE_OBJECT_MARKER + _FINGERPRINT.pack(fingerprint)


def confluent_header(schema_id: int) -> bytes:
    """The 5-byte Confluent header for a schema registry id."""
    return bytes((CONFLUENT_MAGIC_BYTE,)) + _SCHEMA_ID.pack(schema_id)
