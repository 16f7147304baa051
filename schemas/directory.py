"""The directory topic's records: where a moved account lives now.

    key     the account key (schemas/partitioning.py: `<program>:<account>`), so compaction
            keeps one entry per account
    value   JSON, UTF-8: {"home": "us", "epoch": 1, "previous": "eu", "sequence": 5,
                          "moved_at_ms": 1764892800000}

Written by the core in the transaction of the HANDOFF (the old home names the new one) and of
the INSTALL (the new home confirms), and copied to every region by MirrorMaker 2. A reader
merges its region's directory with every copy: for an account, the entry with the highest
epoch wins. An account that never moved has no entry: its program's placement says where it
lives (config/placement.toml). JSON rather than Avro: a handful of fields, read by operators
as often as by the ledger.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

VALUE_BYTES_MAX = 4_096


class DirectoryRecordError(ValueError):
    """A directory record that is not an entry (the message says why)."""


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    home: str
    epoch: int
    previous: str
    """The region it moved from."""
    sequence: int
    """The account's sequence at the HANDOFF."""
    moved_at_ms: int

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()


def decode_entry(value: bytes | None) -> DirectoryEntry:
    if not value or len(value) > VALUE_BYTES_MAX:
        raise DirectoryRecordError(f"{len(value or b'')} bytes is not a directory entry")
    try:
        fields = json.loads(value)
        entry = DirectoryEntry(
            str(fields["home"]),
            int(fields["epoch"]),
            str(fields["previous"]),
            int(fields["sequence"]),
            int(fields["moved_at_ms"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise DirectoryRecordError(f"not a directory entry: {error}") from error
    if not entry.home or entry.epoch < 1:
        raise DirectoryRecordError(f"an entry names no home or no epoch: {entry}")
    return entry
