"""Transfers across regions: debited at the payer's home, the credit leg delivered to the
payee's home through the replicated outbox, refunded to the payer's home if it cannot apply;
exactly once end to end, and `@transit` reconciled per region and across regions by each
region's auditor.

Members homed in each region pay members homed in the other; requests are sent to any region
(some to both). Every balance must equal an independent model's, at home; each region's
audit (its own journal, the copy of the other's, their read models) must find nothing wrong,
and explain its @transit by the other region's legs.
"""

from __future__ import annotations

import random
import time

import redis
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.kit.hostile import WorkItem
from bench.kit.model import APPLIED, LedgerModel, ModelRequest
from bench.kit.requests import AccountHistory, RequestEncoder
from ledger.model import INT64_MAX
from processors.purge import PURGE_INTERVAL_S
from processors.readside.audit import audit
from processors.readside.regional_audit import ALL_REGIONS
from processors.regions.relay import relay_group_id
from schemas.contracts import WireContracts
from settings import Settings
from tests.integration.gateway.conftest import Ledger
from tests.integration.regions.traffic import send_anywhere, wait_visible

PAIRS = 20
TRANSFERS_PER_MEMBER = 3


def _member(region: str, n: int) -> str:
    """Homed in `region` by config/placement.toml ("us-" prefix: us; anything else: eu)."""
    return f"{region}-pay{n:03d}"


def _encoder(settings: Settings, region: str) -> RequestEncoder:
    contracts = WireContracts.for_registry(None)
    return RequestEncoder(contracts, settings.topics.requests, int(time.time() * 1000), region)


def _items(settings: Settings, region: str, requests: list[ModelRequest]) -> list[WorkItem]:
    encoder = _encoder(settings, region)
    items = []
    for request in requests:
        member = AccountHistory(request.account)
        items.append(
            WorkItem(
                member.key(),
                encoder.encode(request),
                member.owner(settings.partitions),
                request,
                None,
            )
        )
    return items


def test_transfers_across_regions_apply_once_and_reconcile(ledgers: dict[str, Ledger]) -> None:
    settings = {name: ledger.settings for name, ledger in ledgers.items()}
    models = {name: LedgerModel() for name in settings}
    home = {_member(r, n): r for r in settings for n in range(PAIRS)}
    whale = "us-whale"  # a balance so large that no credit fits: its legs are refunded
    home[whale] = "us"
    rng = random.Random(18)

    # Accruals, then (once every accrual applied) transfers whose outcomes do not depend on
    # the order they meet each other: each member pays at most a half of what it accrued.
    accruals: dict[str, list[ModelRequest]] = {r: [] for r in settings}
    accrued: dict[str, int] = {}
    for member, region in home.items():
        amount = INT64_MAX - 5 if member == whale else rng.randint(400, 1000)
        asset = "game_coins" if member == whale else "points"
        request = ModelRequest(f"{member}-accrue", member, "ACCRUE", asset, amount)
        accrued[member] = amount
        accruals[region].append(request)
        models[region].apply(request)
        if member != whale:
            coins = ModelRequest(f"{member}-coins", member, "ACCRUE", "game_coins", 100)
            accruals[region].append(coins)
            models[region].apply(coins)
    for region, requests in accruals.items():
        send_anywhere(settings, region, _items(settings[region], region, requests))
    wait_visible(settings, models)
    wait_visible(settings, models, "game_coins")

    before = _crossed(settings)
    transfers: dict[str, list[ModelRequest]] = {r: [] for r in settings}
    for member, region in home.items():
        if member == whale:
            continue
        away = next(r for r in settings if r != region)
        peers = [m for m, r in home.items() if r == away and m != whale]
        budget = accrued[member] // 2
        for k in range(TRANSFERS_PER_MEMBER):
            amount = rng.randint(1, budget // TRANSFERS_PER_MEMBER)
            payee = rng.choice(peers)
            transfers[region].append(
                ModelRequest(f"{member}-t{k}", member, "TRANSFER", "points", amount, None, payee)
            )
        # Far more than anyone holds: rejected at the payer's home, nothing moves.
        transfers[region].append(
            ModelRequest(f"{member}-huge", member, "TRANSFER", "points", 10**6, None, peers[0])
        )
        if region == "eu":  # the whale's credit overflows: refunded to the payer
            transfers[region].append(
                ModelRequest(f"{member}-whale", member, "TRANSFER", "game_coins", 40, None, whale)
            )
    moved = 0
    for region, requests in transfers.items():
        for request in requests:
            outcome = models[region].apply(request)
            receiver = request.counterparty
            assert receiver is not None
            if outcome.status != APPLIED:
                continue
            if receiver == whale:
                models[region].credit(request.account, request.asset, request.amount)
            else:
                models[home[receiver]].credit(receiver, request.asset, request.amount)
                moved += request.amount
        send_anywhere(settings, region, _items(settings[region], region, requests))
    assert moved > 0
    wait_visible(settings, models)
    wait_visible(settings, models, "game_coins")

    after = _crossed(settings)
    assert sum(after.values()) - sum(before.values()) == moved, (before, after, moved)
    for region_settings in settings.values():
        _assert_relayed_copies_are_purged(region_settings)


def _assert_relayed_copies_are_purged(settings: Settings) -> None:
    """Each relay deletes what it committed from its copies of the other regions' outboxes:
    an INSTALL or a leg in them, exempt from the date checks, can never be relayed twice."""
    admin = AdminClient(settings.kafka_config())
    consumer = Consumer(settings.kafka_config({"group.id": relay_group_id(settings)}))
    copies = [f"{source}.{settings.topics.outbox}" for source in settings.other_regions]
    deadline = time.monotonic() + 3 * PURGE_INTERVAL_S + 30
    try:
        while True:
            metadata = admin.list_topics(timeout=30).topics
            partitions = [
                TopicPartition(topic, p) for topic in copies for p in metadata[topic].partitions
            ]
            committed = consumer.committed(partitions, timeout=30)
            relayed = [tp for tp in committed if tp.offset > 0]
            starts = [consumer.get_watermark_offsets(tp, timeout=30)[0] for tp in relayed]
            if relayed and starts == [tp.offset for tp in relayed]:
                return
            assert time.monotonic() < deadline, (relayed, starts)
            time.sleep(1)
    finally:
        consumer.close()


def _crossed(settings: dict[str, Settings]) -> dict[str, int]:
    """Audit every region (each must be clean, with nothing in flight); per region, the value
    of its transfers (and moves: other tests share the ledgers) settled in the other."""
    crossed = {}
    contracts = WireContracts.for_registry(None)
    for region, region_settings in settings.items():
        client = redis.Redis.from_url(region_settings.redis_url)
        report = audit(region_settings, client, contracts, 0, wait_behind_s=60)
        assert report.ok, (region, report.problems)
        away = next(r for r in settings if r != region)
        assert report.copies[away] > 0, report.copies
        points = report.transit.get("acme points")
        if points is None:
            crossed[region] = 0
            continue
        mine, theirs, total = points[region], points[away], points[ALL_REGIONS]
        assert isinstance(mine, dict) and isinstance(theirs, dict) and isinstance(total, dict)
        # Everything settled: each region's @transit is what it debited for the other
        # region's members less what it credited for the other's payers.
        assert total == {"book": 0, "in_flight": 0}, points
        assert mine["in_flight"] == theirs["in_flight"] == 0, points
        assert mine["book"] == mine["settled_elsewhere"].get(away, 0) - mine["settled_for"].get(
            away, 0
        )
        crossed[region] = mine["settled_elsewhere"].get(away, 0)
        coins = report.transit.get("acme game_coins", {ALL_REGIONS: {"book": 0, "in_flight": 0}})
        assert coins[ALL_REGIONS] == {"book": 0, "in_flight": 0}, coins
    return crossed
