"""The programs topic's records: one per version of a program's definition.

    key     `<program>@<version>`, UTF-8 (every version is its own key: compaction never drops
            one, so the topic is the programs' whole history, and a version written twice is
            kept once)
    value   JSON, UTF-8:
            {"program": "acme", "version": 2, "change": "add_asset",
             "changed_at_ms": 1764892800000, "changed_by": "apikey:0123456789ab",
             "definition": {"idempotency_window": "24h", ...,
                            "assets": {"points": {"kind": "points", "scale": 0, ...}}}}

`definition` is the table `[programs.<program>]` of config/programs.toml holds, in the same
keys and units (docs in that file). JSON rather than Avro: it is written a few times a year
by operators, read by people as often as by the ledger, and its validation is the programs
file's, not a schema's. The topic has one partition, so versions keep the order they were
written in.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.program_changes import ChangeKind, ProgramVersion
from ledger.programs import parse_program

RECORD_BYTES_MAX = 512 * 1024


class ProgramRecordError(ValueError):
    """A programs-topic record that is not a program version (the reason says why)."""


def program_record_key(name: str, version: int) -> bytes:
    return f"{name}@{version}".encode()


def encode_program_version(version: ProgramVersion) -> tuple[bytes, bytes]:
    value = {
        "program": version.name,
        "version": version.version,
        "change": version.change.value,
        "changed_at_ms": version.changed_at_ms,
        "changed_by": version.changed_by,
        "definition": version.definition,
    }
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return program_record_key(version.name, version.version), encoded


def decode_program_version(value: bytes | None) -> ProgramVersion:
    """The version a record holds; ProgramRecordError when it is not one, a ConfigError
    (naming the key) when its definition does not validate."""
    if value is None:
        raise ProgramRecordError("a tombstone: versions are never deleted")
    if len(value) > RECORD_BYTES_MAX:
        raise ProgramRecordError(f"{len(value)} bytes, more than {RECORD_BYTES_MAX}")
    try:
        document = json.loads(value)
    except ValueError as error:
        raise ProgramRecordError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ProgramRecordError("not a JSON object")
    name = _field(document, "program", str)
    version = _field(document, "version", int)
    if version < 1:
        raise ProgramRecordError(f"version {version} is not positive")
    try:
        change = ChangeKind(_field(document, "change", str))
    except ValueError:
        raise ProgramRecordError(f"unknown change {document['change']!r}") from None
    definition = _field(document, "definition", dict)
    return ProgramVersion(
        parse_program(name, definition, version),
        definition,
        change,
        _field(document, "changed_at_ms", int),
        _field(document, "changed_by", str),
    )


def _field(document: dict[str, Any], name: str, kind: type) -> Any:
    value = document.get(name)
    # bool is an int: `"version": true` is a broken record, not version 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProgramRecordError(f"{name!r} must be a {kind.__name__}, got {value!r}")
    return value
