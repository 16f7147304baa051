"""Reads everywhere: each region's mirror also follows the other regions' journals as
MirrorMaker 2 copies them, so every account is readable in every region.

Two real clusters, a core and a mirror per region (`ledger core`, `ledger mirror` with
LEDGER_REGION), members homed in each region writing to their own region. Every member's
balance and request statuses, read in either region, must equal an independent model's;
each region's own model holds only its own members (the copy is a model of its own, so each
stays the exact fold of one journal), and the copy says how fresh it is.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from confluent_kafka.admin import AdminClient

from bench.kit.hostile import WorkItem
from bench.kit.model import LedgerModel, ModelRequest
from bench.kit.requests import AccountHistory, RequestEncoder
from cli.devstack.regions import RegionsStack
from processors.topics import ensure_topics, ledger_topics
from readmodel.keys import copy_freshness_key
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

PROGRAM = "acme"
MEMBERS_PER_REGION = 40
REQUESTS_PER_MEMBER = 12
VISIBLE_TIMEOUT_S = 120.0


def _workload(region: str, settings: Settings, model: LedgerModel, seed: int) -> list[WorkItem]:
    """Accruals and redemptions (some too large: rejected) of members homed in `region`."""
    rng = random.Random(seed)
    encoder = RequestEncoder(
        WireContracts.for_registry(None), settings.topics.requests, int(time.time() * 1000), region
    )
    members = [AccountHistory(f"{region}-m{n:03d}") for n in range(MEMBERS_PER_REGION)]
    items = []
    for _ in range(REQUESTS_PER_MEMBER):
        for member in members:
            operation = rng.choice(("ACCRUE", "ACCRUE", "REDEEM"))
            request = ModelRequest(
                member.next_id(), member.name, operation, "points", rng.randint(1, 500)
            )
            outcome = model.apply(request)
            value = encoder.encode(request)
            items.append(
                WorkItem(member.key(), value, member.owner(settings.partitions), request, outcome)
            )
    return items


@pytest.fixture
def running_regions(regions: RegionsStack, tmp_path: Path) -> Iterator[dict[str, Settings]]:
    settings = {
        name: _fresh_prefix(regions.settings_for(name), tmp_path.name) for name in regions.names
    }
    for region_settings in settings.values():
        ensure_topics(AdminClient(region_settings.kafka_config()), ledger_topics(region_settings))
    processes = [
        LedgerProcess(
            [role, "--instance-id", f"{name}-{role}"],
            settings_env(settings[name]),
            tmp_path / f"{name}-{role}.log",
        )
        for name in regions.names
        for role in ("core", "mirror")
    ]
    for process in processes:
        process.start()
    try:
        yield settings
    finally:
        for process in processes:
            process.stop()


def _fresh_prefix(settings: Settings, run: str) -> Settings:
    """Topics and Redis keys of this run's own (MirrorMaker copies any prefix's journal)."""
    tag = "".join(c for c in run if c.isalnum())[-12:].lower()
    return replace(settings, topic_prefix=f"{tag}.", redis_key_prefix=f"{tag}:")


def test_every_member_is_readable_in_every_region(
    running_regions: dict[str, Settings],
) -> None:
    settings = running_regions
    models = {name: LedgerModel() for name in settings}
    for seed, (name, region_settings) in enumerate(settings.items()):
        produce(region_settings, _workload(name, region_settings, models[name], seed))
    for reader_region, reader_settings in settings.items():
        client = redis.Redis.from_url(reader_settings.redis_url)
        for home, model in models.items():
            journal = (
                reader_settings if home == reader_region else reader_settings.journal_copy(home)
            )
            read_model = SyncReadModel(client, journal.redis_key_prefix)
            expected = model.balances("points")
            deadline = time.monotonic() + VISIBLE_TIMEOUT_S
            while True:
                found = {member: _available(read_model, member) for member in expected}
                wanted = {member: balance[0] for member, balance in expected.items()}
                if found == wanted or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert found == wanted, (
                f"{home}'s members read in {reader_region}: "
                f"{sum(found[m] != wanted[m] for m in wanted)} of {len(wanted)} differ"
            )
            if home != reader_region:
                raw = client.get(copy_freshness_key(journal.redis_key_prefix))
                assert isinstance(raw, bytes), f"no freshness of {home}'s copy in {reader_region}"
                freshness = json.loads(raw)
                assert 0 < freshness["event_ms"] <= freshness["applied_ms"]
        # A region's own model is the fold of its own journal: no other region's member.
        own = SyncReadModel(client, reader_settings.redis_key_prefix)
        for home, model in models.items():
            if home != reader_region:
                assert all(not own.balances(PROGRAM, m) for m in model.balances("points"))


def _available(read_model: SyncReadModel, member: str) -> int:
    for balance in read_model.balances(PROGRAM, member):
        if balance.asset == "points":
            return balance.available
    return 0
