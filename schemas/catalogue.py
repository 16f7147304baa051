"""The contract's schemas: the current `schemas/*.avsc` by full name, and every writer schema a
message may carry (current and released) by fingerprint. Parsed once; a released schema the
current one cannot read refuses to load.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form
from fastavro.types import Schema

from schemas.compat import check_backward_compatible
from schemas.exceptions import UnknownFingerprintError, UnknownSchemaNameError

SCHEMAS_DIRECTORY = Path(__file__).parent
RELEASED_DIRECTORY_NAME = "released"
CURRENT_RELEASE = "current"


@dataclass(frozen=True, slots=True)
class ContractSchema:
    """One Avro record schema of the contract, parsed once."""

    full_name: str  # namespace.name, e.g. rewards.ledger.LedgerEvent
    text: str  # the JSON as written in the .avsc file; registered verbatim with a registry
    parsed: Schema  # fastavro-parsed form, shared by every read and write
    fingerprint: int  # CRC-64-AVRO of the Parsing Canonical Form, as an unsigned integer
    release: str  # "current", or the released version directory, e.g. "v1"


def crc64_avro_fingerprint(schema: Any) -> int:
    """CRC-64-AVRO (Rabin) fingerprint of a schema's Parsing Canonical Form.

    fastavro returns the 8 bytes in the order single-object encoding writes them (little
    endian, as Java does); read as an unsigned little-endian integer they give the Rabin value
    the Avro spec defines.
    """
    canonical_form = to_parsing_canonical_form(schema)
    return int.from_bytes(bytes.fromhex(fingerprint(canonical_form, "CRC-64-AVRO")), "little")


def contract_from_text(text: str, release: str = CURRENT_RELEASE) -> ContractSchema:
    """Parse one .avsc document; the top level must be a named record."""
    parsed = parse_schema(json.loads(text))
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise ValueError(f"a contract schema must be a record at top level, got {text[:80]!r}")
    return ContractSchema(
        full_name=parsed["name"],
        text=text,
        parsed=parsed,
        fingerprint=crc64_avro_fingerprint(parsed),
        release=release,
    )


class SchemaCatalogue:
    """Current contract schemas by full name, and every known writer schema by fingerprint."""

    def __init__(
        self, current: Iterable[ContractSchema], released: Iterable[ContractSchema] = ()
    ) -> None:
        self._current: dict[str, ContractSchema] = {}
        for contract in current:
            if contract.full_name in self._current:
                raise ValueError(f"{contract.full_name} is defined by two current schemas")
            self._current[contract.full_name] = contract
        self._writers = {contract.fingerprint: contract for contract in self._current.values()}
        for contract in released:
            self._add_released_writer(contract)

    @classmethod
    def load(cls, directory: Path = SCHEMAS_DIRECTORY) -> SchemaCatalogue:
        """Load ``directory/*.avsc`` as current and ``directory/released/*/*.avsc`` as released."""
        current = [contract_from_text(path.read_text("utf-8")) for path in _avsc_files(directory)]
        released = [
            contract_from_text(path.read_text("utf-8"), release=release_dir.name)
            for release_dir in sorted((directory / RELEASED_DIRECTORY_NAME).glob("*/"))
            for path in _avsc_files(release_dir)
        ]
        return cls(current, released)

    @property
    def names(self) -> tuple[str, ...]:
        """Full names of the current record schemas."""
        return tuple(self._current)

    @property
    def writers(self) -> tuple[ContractSchema, ...]:
        """Every schema a single-object message may have been written with."""
        return tuple(self._writers.values())

    def current(self, full_name: str) -> ContractSchema:
        """The current schema of a record; raises UnknownSchemaNameError."""
        try:
            return self._current[full_name]
        except KeyError:
            raise UnknownSchemaNameError(
                f"no current schema named {full_name!r}; known: {sorted(self._current)}"
            ) from None

    def writer(self, fingerprint: int) -> ContractSchema:
        """The current or released schema with this fingerprint; raises UnknownFingerprintError."""
        try:
            return self._writers[fingerprint]
        except KeyError:
            raise UnknownFingerprintError(
                f"no current or released schema has fingerprint {fingerprint:016x}"
            ) from None

    def _add_released_writer(self, contract: ContractSchema) -> None:
        if contract.fingerprint in self._writers:
            return  # unchanged since that release: the same writer schema
        # A released writer must stay readable by the current reader, or old data on the
        # topics becomes undecodable: refuse to build rather than fail per message later.
        reader = self._current.get(contract.full_name)
        if reader is None:
            raise ValueError(
                f"release {contract.release} defines {contract.full_name}, which no current "
                "schema does: a reader is needed for data already written with it"
            )
        problems = check_backward_compatible(reader.parsed, contract.parsed)
        if problems:
            raise ValueError(
                f"current {contract.full_name} cannot read release {contract.release}: "
                + "; ".join(problems)
            )
        self._writers[contract.fingerprint] = contract


def _avsc_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.avsc"))
