"""The journal extension kit's worked example on the real stack: qualifying points folded by a
Faust worker (killed with SIGKILL mid-run and restarted), served by the API, equal to an
independent fold of the journal; and its Redis days pruned at the window's edge."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx
import redis.asyncio
from reward_ledger_client import LedgerClient, LedgerError

from bench.kit.kafka_io import read_topic
from gateway.auth import Scope
from ledger.model import Operation, Status
from ledger.qualifying import day_of
from readmodel.qualifying import QualifyingStore
from schemas.contracts import WireContracts
from settings import Settings
from tests.infrastructure import Infrastructure
from tests.integration.gateway.conftest import (
    Ledger,
    account,
    isolated_settings,
    start_ledger,
    stop_ledger,
    wait_ready,
    warm_up,
)
from tests.support.processes import LedgerProcess, settings_env

SETTLE_TIMEOUT_S = 120.0


def test_qualifying_points_equal_an_independent_fold_across_a_kill(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    settings = isolated_settings(infrastructure)
    ledger = start_ledger(settings, tmp_path, ("core", "mirror", "gateway"))
    extension = LedgerProcess(
        ["extension", "run", "qualifying_points"], settings_env(settings), tmp_path / "ext.log"
    )
    try:
        wait_ready(ledger)
        warm_up(ledger)
        token = ledger.key(Scope.ADMIN)
        url = "/v1/programs/acme/accounts/warm-up/qualifying-points"
        with ledger.client(token) as http:
            assert http.get(url).json()["code"] == "unavailable"  # not running: said, not zero
            extension.start()
            workload = _Workload(ledger, token)
            workload.run(120)
            # Kill it once it has folded and committed some (Faust commits every 2.8 s), while
            # more is still uncommitted: that part is delivered again after the restart.
            _wait_until(lambda: _served(http, url) > 0, extension)
            time.sleep(4.0)
            workload.run(40)
            extension.signal(signal.SIGKILL)
            workload.run(60)
            extension.start()
            workload.run(60)
        workload.client.close()
        expected = _independent_fold(settings, workload.calls)
        _wait_equal(ledger, token, expected, extension)
    finally:
        try:
            extension.stop()
        finally:
            stop_ledger(ledger)


def test_redis_counts_each_event_once_and_prunes_days_that_left_the_window(
    settings: Settings,
) -> None:
    async def scenario() -> tuple[list[bool], dict[int, dict[str, int]], int | None]:
        client = redis.asyncio.Redis.from_url(settings.redis_url)
        store = QualifyingStore(client, settings.redis_key_prefix)
        today = day_of(int(time.time() * 1000))
        added = [
            await store.add_event("acme", "ann", 1, 100, {"points": 5}, today - 400),
            await store.add_event("acme", "ann", 2, 200, {"points": 7}, today - 364),
            await store.add_event("acme", "ann", 3, 300, {"points": 9, "gems": 1}, today),
            await store.add_event("acme", "ann", 3, 300, {"points": 9, "gems": 1}, today),
            await store.add_event("acme", "ann", 2, 200, {"points": 7}, today - 364),
            await store.add_event("acme", "ann", 5, 250, {"points": -4}, today),
        ]
        days, updated = await store.days("acme", "ann")
        await client.aclose()
        return added, {day - today: amounts for day, amounts in days.items()}, updated

    added, days, updated = asyncio.run(scenario())
    assert added == [True, True, True, False, False, True]  # delivered again: counted once
    assert days == {-364: {"points": 7}, 0: {"points": 5, "gems": 1}}  # -400 pruned
    assert updated == 300  # never goes back


class _Workload:
    """Accruals, redemptions, partial refunds of accruals and transfers over a few accounts."""

    def __init__(self, ledger: Ledger, token: str) -> None:
        self.client = LedgerClient(ledger.url, token)
        self.random = random.Random(17)
        self.accounts = [account() for _ in range(8)]
        self.accruals: dict[str, list[str]] = defaultdict(list)
        self.calls = 0

    def run(self, calls: int) -> None:
        for _ in range(calls):
            self.calls += 1
            who = self.random.choice(self.accounts)
            roll = self.random.random()
            try:
                if roll < 0.45 or not self.accruals[who]:
                    amount = self.random.randint(1, 500)
                    outcome = self.client.accrue("acme", who, "points", amount)
                    self.accruals[who].append(outcome.request_id)
                elif roll < 0.65:
                    self.client.redeem("acme", who, "points", self.random.randint(1, 200))
                elif roll < 0.85:
                    reference = self.random.choice(self.accruals[who])
                    amount = self.random.randint(1, 60)
                    self.client.reverse("acme", who, "points", amount, reference=reference)
                else:
                    to = self.random.choice([a for a in self.accounts if a != who])
                    self.client.transfer("acme", who, "points", self.random.randint(1, 50), to=to)
            except LedgerError:
                pass  # a rejection: journaled, and earns nothing


def _independent_fold(settings: Settings, calls: int) -> dict[str, int]:
    """Per account, accruals less reversals of accruals, from the journal's requests alone."""
    contracts = WireContracts.for_registry(None)
    events = [
        contracts.decode_event(m.value() or b"")
        for m in read_topic(settings, settings.topics.events, calls, 60)
    ]
    accrued_ids = {
        (e.account_id, e.request.request_id)
        for e in events
        if e.status is Status.APPLIED and e.request.operation is Operation.ACCRUE
    }
    expected: dict[str, int] = defaultdict(int)
    for event in events:
        if event.status is not Status.APPLIED or event.program != "acme":
            continue
        request = event.request
        if request.operation is Operation.ACCRUE:
            expected[event.account_id] += request.amount
        elif (
            request.operation is Operation.REVERSE
            and (event.account_id, request.reference) in accrued_ids
        ):
            expected[event.account_id] -= request.amount
    return dict(expected)


def _served(http: httpx.Client, url: str) -> int:
    answer = http.get(url)
    if answer.status_code != 200:
        return 0
    return sum(asset["earned"] for asset in answer.json()["assets"])


def _wait_until(condition: Callable[[], bool], extension: LedgerProcess) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, extension.log()[-4000:]
        time.sleep(0.5)


def _wait_equal(
    ledger: Ledger, token: str, expected: dict[str, int], extension: LedgerProcess
) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    with ledger.client(token) as http:
        while True:
            served = {}
            for who in expected:
                answer = http.get(f"/v1/programs/acme/accounts/{who}/qualifying-points")
                if answer.status_code == 200:
                    body = answer.json()
                    served[who] = {a["asset"]: a["earned"] for a in body["assets"]}.get("points", 0)
            if served == expected:
                return
            assert time.monotonic() < deadline, (
                f"served {served}\nexpected {expected}\n{extension.log()[-4000:]}"
            )
            time.sleep(0.5)
