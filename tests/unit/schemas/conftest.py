"""Shared fixtures: the real and the fixture catalogues, and an in-memory schema registry."""

import itertools
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import SCHEMAS_DIRECTORY, SchemaCatalogue
from schemas.codec import AvroCodec
from schemas.registry import ConfluentSchemaRegistry

FIXTURES_DIRECTORY = Path(__file__).parent / "fixtures"
RELEASED_V1_DIRECTORY = SCHEMAS_DIRECTORY / "released" / "v1"
RELEASES = ("v1", "v2")
"""Every release of the contract: data written with any of them stays readable, both ways."""
CONTRACT_FILES = ("transaction_request.avsc", "ledger_event.avsc", "account_state.avsc")
SAMPLE = "rewards.fixture.Sample"
PING = "rewards.fixture.Ping"
LEDGER_EVENT = "rewards.ledger.LedgerEvent"

_registry_names = itertools.count()


def load_avsc(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def sample_record() -> dict[str, Any]:
    """A fixture Sample as the current (v2) schema reads it (fastavro reads timestamps as
    datetimes)."""
    return {
        "id": "s-1",
        "amount": 5_000_000_000,
        "kind": "EXPIRE",
        "tags": ["a", "b"],
        "note": None,
        "money": {"minor_units": 1250, "currency": "INR"},
        "previous": {"minor_units": 1000, "currency": "INR"},
        "at": datetime(2025, 11, 24, 16, 0, tzinfo=UTC),
        "channel": "app",
    }


def sample_v1_record() -> dict[str, Any]:
    """A fixture Sample as the released v1 schema writes it."""
    return {
        "id": "s-0",
        "amount": 42,
        "kind": "BURN",
        "tags": [],
        "note": "old",
        "money": {"minor_units": 42, "currency": "EUR"},
        "previous": None,
        "at": datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        "legacy_code": "X9",
    }


def ledger_event_record() -> dict[str, Any]:
    """A typical applied ACCRUE event: one posting, balance, lot and reversible."""
    request = {
        "request_id": "0196f1c2-7a4b-7c3d-9e8f-0123456789ab",
        "program": "acme",
        "account_id": "customer-42",
        "operation": "ACCRUE",
        "asset": "points",
        "amount": 1500,
        "reference": None,
        "counterparty_account_id": None,
        "expires_at_ms": 1_795_536_000_000,
        "reason": None,
        "requested_at_ms": 1_764_000_000_000,
        "principal": "checkout-service",
        "metadata": {"order_id": "ord-981", "store": "blr-07"},
        "carried_lots": [],
        "to_region": "",
        "carried_state": None,
    }
    return {
        "event_id": "acme:customer-42:17",
        "program": "acme",
        "account_id": "customer-42",
        "sequence": 17,
        "status": "APPLIED",
        "reason": None,
        "original_sequence": None,
        "processed_at_ms": 1_764_000_000_120,
        "content_hash": "4f2a9c0d1e8b7a6f5c4d3e2f1a0b9c8d",
        "request": request,
        "channel": "public",
        "postings": [
            {"account": "customer-42", "asset": "points", "amount": 1500},
            {"account": "@issuance", "asset": "points", "amount": -1500},
        ],
        "balances": [{"asset": "points", "available": 9800, "held": 0}],
        "lots": [
            {
                "lot_id": "17",
                "asset": "points",
                "amount": 1500,
                "expires_at_ms": 1_795_536_000_000,
                "created_sequence": 17,
            }
        ],
        "holds_opened": [],
        "holds_closed": [],
        "reversibles": [
            {
                "request_id": "0196f1c2-7a4b-7c3d-9e8f-0123456789ab",
                "operation": "ACCRUE",
                "asset": "points",
                "amount": 1500,
                "reversed_amount": 0,
                "lot_id": "17",
                "recorded_at_ms": 1_764_000_000_120,
                "expires_at_ms": 1_795_536_000_000,
            }
        ],
        "forgotten_request_ids": [],
        "forgotten_reversibles": [],
        "program_version": 3,
        "region": "eu",
        "epoch": 1,
    }


@pytest.fixture(scope="session")
def fixture_catalogue() -> SchemaCatalogue:
    return SchemaCatalogue.load(FIXTURES_DIRECTORY)


@pytest.fixture(scope="session")
def contract_catalogue() -> SchemaCatalogue:
    return SchemaCatalogue.load()


@pytest.fixture
def registry_client() -> SchemaRegistryClient:
    """A fresh in-memory registry per test (each mock client has its own store)."""
    return SchemaRegistryClient.new_client({"url": f"mock://schemas-test-{next(_registry_names)}"})


@pytest.fixture
def fixture_codec(fixture_catalogue: SchemaCatalogue) -> AvroCodec:
    return AvroCodec(fixture_catalogue)


@pytest.fixture
def fixture_registry_codec(
    fixture_catalogue: SchemaCatalogue, registry_client: SchemaRegistryClient
) -> AvroCodec:
    return AvroCodec(fixture_catalogue, ConfluentSchemaRegistry(registry_client))


@pytest.fixture
def seeded_random() -> Iterator[None]:
    """fastavro's record generator draws from the global `random`: make it repeatable."""
    state = random.getstate()
    random.seed(20_251_125)
    yield
    random.setstate(state)
