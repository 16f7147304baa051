"""From requests produced to `rewards.requests`, through `ledger core` and `ledger mirror`,
to balances in Redis equal to the independent model's, and an audit that finds nothing."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import redis

from bench.kit.hostile import PROGRAM, generate
from bench.kit.kafka_io import read_topic
from processors.readside.audit import audit
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings
from tests.integration.readside.conftest import wait_for, wait_for_generation, wait_for_offsets
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

SEED = 5150
REQUESTS = 4_000


def test_requests_reach_redis_as_the_model_predicts(
    topics: Settings,
    tmp_path: Path,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
    contracts: WireContracts,
) -> None:
    settings = replace(topics, core_group_id=f"{topics.topic_prefix}core")
    workload = generate(
        SEED,
        contracts,
        settings.topics,
        settings.partitions,
        time.time_ns() // 10**6,
        requests=REQUESTS,
        customers=150,
        receivers=20,
        misrouted=10,
    )
    core = LedgerProcess(
        ["core", "--instance-id", "readside-e2e", "--status-interval", "0"],
        settings_env(settings),
        tmp_path / "core.log",
    )
    wait_for_generation(read_model)
    core.start()
    try:
        produce(settings, workload.items)
        read_topic(settings, settings.topics.events, workload.expected_events)
    finally:
        assert core.stop() == 0, core.log()[-3000:]
    wait_for_offsets(read_model, settings)

    def model_balances() -> dict[str, dict[str, tuple[int, int]]]:
        return {
            name: {
                asset: workload.model.balance(name, asset)
                for asset in set(account.available) | set(account.held)
            }
            for name, account in workload.model.accounts.items()
        }

    def redis_balances() -> dict[str, dict[str, tuple[int, int]]]:
        return {
            name: {b.asset: (b.available, b.held) for b in read_model.balances(PROGRAM, name)}
            for name in workload.model.accounts
        }

    wanted = model_balances()
    # Accounts whose only requests were rejected exist in the model with no balances.
    wait_for(lambda: _same(redis_balances(), wanted), "Redis to equal the model", 30)

    some_applied = next(
        item for item in workload.items if item.expected and item.expected.status == "APPLIED"
    )
    assert some_applied.request is not None
    status = read_model.request_status(
        PROGRAM, some_applied.request.account, some_applied.request.request_id
    )
    assert status is not None and status.status == "APPLIED"

    report = audit(settings, redis_client, contracts, sample=0, wait_behind_s=10)
    assert report.problems == []
    assert report.accounts_compared == report.accounts > 100


def _same(
    got: dict[str, dict[str, tuple[int, int]]], wanted: dict[str, dict[str, tuple[int, int]]]
) -> bool:
    def nonzero(b: dict[str, dict[str, tuple[int, int]]]) -> dict[str, dict[str, tuple[int, int]]]:
        return {n: {a: v for a, v in assets.items() if v != (0, 0)} for n, assets in b.items()}

    return nonzero(got) == nonzero(wanted)
