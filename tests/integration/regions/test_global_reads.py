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
from collections.abc import Callable

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
from tests.integration.gateway.conftest import Ledger
from tests.integration.regions.traffic import (
    PROGRAM,
    balance,
    kill_mirrormaker,
    restart_mirrormaker,
    send_anywhere,
    wait_visible,
)

MEMBERS_PER_REGION = 30
REQUESTS_PER_MEMBER = 6
VISIBLE_TIMEOUT_S = 120.0


def _workload(
    region: str, settings: Settings, model: LedgerModel, seed: int, phase: str
) -> list[WorkItem]:
    """Requests of members homed in `region` whose outcomes do not depend on the order they
    arrive in (they travel different paths): accruals; or redemptions that all fit what was
    accrued, and one per member too large for anything (rejected)."""
    rng = random.Random(f"{seed}-{phase}")
    encoder = RequestEncoder(
        WireContracts.for_registry(None), settings.topics.requests, int(time.time() * 1000), region
    )
    members = [AccountHistory(f"{region}-m{n:03d}-{phase}") for n in range(MEMBERS_PER_REGION)]
    requests = []
    for member in members:
        accrued = 0
        for _ in range(REQUESTS_PER_MEMBER):
            amount = rng.randint(1, 500)
            accrued += amount
            requests.append(ModelRequest(member.next_id(), member.name, "ACCRUE", "points", amount))
        if phase == "redeem":
            # A quarter of what was accrued in all, whatever the order; one far too large.
            for _ in range(4):
                amount = rng.randint(1, max(1, accrued // 16))
                requests.append(
                    ModelRequest(member.next_id(), member.name, "REDEEM", "points", amount)
                )
            requests.append(
                ModelRequest(member.next_id(), member.name, "REDEEM", "points", accrued + 1)
            )
    items = []
    for request in requests:
        member = AccountHistory(request.account)
        items.append(
            WorkItem(
                member.key(),
                encoder.encode(request),
                member.owner(settings.partitions),
                request,
                model.apply(request),
            )
        )
    return items


def test_every_member_is_readable_in_every_region(ledgers: dict[str, Ledger]) -> None:
    settings = {name: ledger.settings for name, ledger in ledgers.items()}
    models = {name: LedgerModel() for name in settings}
    # Accruals first; the redemptions of the same members only once every accrual applied
    # (so no redemption may meet a balance still on its way).
    requests: dict[str, list[WorkItem]] = {}
    for phase in ("accrue", "redeem"):
        for seed, (name, region_settings) in enumerate(settings.items()):
            batch = _workload(name, region_settings, models[name], seed, phase)
            requests.setdefault(name, []).extend(batch)
            send_anywhere(settings, name, batch)
        if phase == "accrue":
            wait_visible(settings, models)
    _write_through_gateways(ledgers, models)
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
                found = {member: balance(read_model, member) for member in expected}
                wanted = dict(expected)
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
            item = requests[home][-10]  # sent to the other region only (_send_anywhere)
            assert item.request is not None and item.expected is not None
            status = client.get(
                f"/v1/programs/{PROGRAM}/accounts/{item.request.account}"
                f"/requests/{item.request.request_id}"
            ).json()
            assert status["status"] == item.expected.status, (here, status)


def _write_through_gateways(ledgers: dict[str, Ledger], models: dict[str, LedgerModel]) -> None:
    """Each gateway accrues to a member homed in the other region: the write is forwarded
    home, and its outcome comes back in time for the answer (201, APPLIED)."""
    for here, ledger in ledgers.items():
        away = next(name for name in ledgers if name != here)
        member = f"{away}-gw-{here}"
        token = ledger.key(Scope.TRANSACTIONS_WRITE)
        with ledger.client(token) as client:
            answer = client.post(
                f"/v1/programs/{PROGRAM}/transactions",
                json={"operation": "ACCRUE", "account_id": member, "asset": "points", "amount": 7},
                headers={"Idempotency-Key": f"gw-{here}"},
            )
        assert answer.status_code == 201, (here, answer.text)
        assert answer.json()["status"] == "APPLIED", answer.text
        models[away].apply(ModelRequest(f"gw-{here}", member, "ACCRUE", "points", 7))
        # Retried, here and in the member's home region: the first answer, not a DUPLICATE
        # (the home decides the retry DUPLICATE; the gateway answers the stored outcome).
        for retried_at in (here, away):
            retry_token = ledgers[retried_at].key(Scope.TRANSACTIONS_WRITE)
            with ledgers[retried_at].client(retry_token) as client:
                again = client.post(
                    f"/v1/programs/{PROGRAM}/transactions",
                    json={
                        "operation": "ACCRUE",
                        "account_id": member,
                        "asset": "points",
                        "amount": 7,
                    },
                    headers={"Idempotency-Key": f"gw-{here}"},
                )
            assert again.status_code in (200, 201), (retried_at, again.text)
            assert again.json()["status"] == "APPLIED", (retried_at, again.text)
            assert again.json()["sequence"] == answer.json()["sequence"], again.text


def test_a_copy_says_it_is_stale_while_mirrormaker_is_down(
    regions: RegionsStack, ledgers: dict[str, Ledger]
) -> None:
    """With MirrorMaker 2 down, nothing reaches the copy: an answer read from it must say it
    is older and older, not the lag it had when it last took an event."""
    member = "eu-stale-1"  # homed in eu, read in us
    with ledgers["eu"].client(ledgers["eu"].key(Scope.TRANSACTIONS_WRITE)) as client:
        written = client.post(
            f"/v1/programs/{PROGRAM}/transactions",
            json={"operation": "ACCRUE", "account_id": member, "asset": "points", "amount": 3},
            headers={"Idempotency-Key": "stale-1"},
        )
    assert written.status_code == 201, written.text
    us = ledgers["us"]
    with us.client(us.key(Scope.BALANCES_READ)) as client:

        def lag_ms() -> int:
            body = client.get(f"/v1/programs/{PROGRAM}/accounts/{member}/balances").json()
            assert body.get("home_region") == "eu", body
            return int(body["replication_lag_ms"])

        _wait_for(
            lambda: (
                client.get(f"/v1/programs/{PROGRAM}/accounts/{member}/balances")
                .json()
                .get("home_region")
                == "eu"
            )
        )
        _wait_for(lambda: lag_ms() < STALE_MS)
        killed = kill_mirrormaker(regions)
        try:
            time.sleep(STALE_MS / 1000 + 2)
            first = lag_ms()
            time.sleep(2)
            second = lag_ms()
        finally:
            restart_mirrormaker(regions, killed)
        assert first >= STALE_MS, first
        assert second >= first + 1_500, (first, second)
        _wait_for(lambda: lag_ms() < STALE_MS)


STALE_MS = 4_000


def _wait_for(condition: Callable[[], bool], timeout_s: float = VISIBLE_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.5)
