"""Reads everywhere: each region's mirror also follows the other regions' journals as
MirrorMaker 2 copies them, so every account is readable in every region.

Two real clusters, a core, a mirror and a gateway per region (with LEDGER_REGION), members
homed in each region writing to their own region. Every member's balance, read in either
region from Redis and through the gateway, must equal an independent model's, and the gateway
names the member's home and says how fresh the copy is;
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

from bench.kit.hostile import WorkItem
from bench.kit.model import LedgerModel, ModelRequest
from bench.kit.requests import AccountHistory, RequestEncoder
from cli.devstack.regions import RegionsStack
from gateway.auth import Scope
from readmodel.keys import copy_freshness_key
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings
from tests.integration.gateway.conftest import Ledger, start_ledger, stop_ledger, wait_ready
from tests.support.kafka_io import produce

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
def ledgers(regions: RegionsStack, tmp_path: Path) -> Iterator[dict[str, Ledger]]:
    """A core, a mirror and a gateway per region, each on its region's cluster and Redis."""
    running: dict[str, Ledger] = {}
    try:
        for name in regions.names:
            log_dir = tmp_path / name
            log_dir.mkdir()
            settings = _fresh_prefix(regions.settings_for(name), tmp_path.name)
            running[name] = start_ledger(settings, log_dir, ("core", "mirror", "gateway"))
        for ledger in running.values():
            wait_ready(ledger)
        yield running
    finally:
        for ledger in running.values():
            stop_ledger(ledger)


def _fresh_prefix(settings: Settings, run: str) -> Settings:
    """Topics and Redis keys of this run's own (MirrorMaker copies any prefix's journal)."""
    tag = "".join(c for c in run if c.isalnum())[-12:].lower()
    return replace(settings, topic_prefix=f"{tag}.", redis_key_prefix=f"{tag}:")


def test_every_member_is_readable_in_every_region(ledgers: dict[str, Ledger]) -> None:
    settings = {name: ledger.settings for name, ledger in ledgers.items()}
    models = {name: LedgerModel() for name in settings}
    requests: dict[str, list[WorkItem]] = {}
    for seed, (name, region_settings) in enumerate(settings.items()):
        requests[name] = _workload(name, region_settings, models[name], seed)
        produce(region_settings, requests[name])
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
        _check_gateway(ledgers[reader_region], reader_region, models, requests)


def _check_gateway(
    ledger: Ledger,
    here: str,
    models: dict[str, LedgerModel],
    requests: dict[str, list[WorkItem]],
) -> None:
    """Through `here`'s gateway: every member's balance, history and a request's outcome,
    each naming the member's home region and how fresh the answer is."""
    token = ledger.key(Scope.BALANCES_READ)
    with ledger.client(token) as client:
        for home, model in models.items():
            for member, (available, _held) in model.balances("points").items():
                base = f"/v1/programs/{PROGRAM}/accounts/{member}"
                body = client.get(f"{base}/balances").json()
                points = next(b for b in body["balances"] if b["asset"] == "points")
                assert points["available"] == available, (here, member, body)
                assert body["home_region"] == home, (here, member, body)
                assert body["as_of_ms"] > 0 and body["replication_lag_ms"] >= 0, body
                if home == here:
                    assert body["replication_lag_ms"] == 0
                history = client.get(f"{base}/history", params={"limit": 5}).json()
                assert history["home_region"] == home and history["entries"], history
            item = requests[home][-1]
            assert item.request is not None and item.expected is not None
            status = client.get(
                f"/v1/programs/{PROGRAM}/accounts/{item.request.account}"
                f"/requests/{item.request.request_id}"
            ).json()
            assert status["status"] == item.expected.status, (here, status)


def _available(read_model: SyncReadModel, member: str) -> int:
    for balance in read_model.balances(PROGRAM, member):
        if balance.asset == "points":
            return balance.available
    return 0
