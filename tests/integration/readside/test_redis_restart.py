"""The mirror against a Redis server of its own, which loses everything twice: a FLUSHALL, then
a crash and a restart with its data directory gone. Each time the mirror notices that the model
is gone, rebuilds it from the journal and goes on mirroring."""

from __future__ import annotations

import shutil
import signal
from dataclasses import replace
from pathlib import Path

import redis

from bench.kit.redis_server import RedisServer
from readmodel.reader import SyncReadModel
from settings import Settings
from tests.integration.readside.conftest import (
    wait_for,
    wait_for_generation,
    wait_for_offsets,
)
from tests.integration.readside.journal_writer import PROGRAM, JournalWriter, request
from tests.support.processes import LedgerProcess, settings_env

ACCOUNTS = 20


def _balances(model: SyncReadModel) -> dict[str, object]:
    return {f"b{n:02d}": model.balances(PROGRAM, f"b{n:02d}") for n in range(ACCOUNTS)}


def _round(writer: JournalWriter, amount: int) -> None:
    writer.apply([request(f"b{n:02d}", "ACCRUE", amount + n) for n in range(ACCOUNTS)])


def test_mirror_rebuilds_after_flushall_and_after_a_restart_without_data(
    topics: Settings, writer: JournalWriter, tmp_path: Path
) -> None:
    data = tmp_path / "redis"
    server = RedisServer(data)
    server.start()
    settings = replace(topics, redis_port=server.port, redis_url=server.url)
    client = redis.Redis.from_url(settings.redis_url)
    model = SyncReadModel(client, settings.redis_key_prefix)
    mirror = LedgerProcess(
        ["mirror", "--loglevel", "info"],
        settings_env(settings, LEDGER_MIRROR_BATCH_TIME_MAX_MS="50"),
        tmp_path / "mirror.log",
    )
    mirror.start()
    try:
        wait_for_generation(model)
        _round(writer, 100)
        _round(writer, 200)
        wait_for_offsets(model, settings)
        before = _balances(model)
        assert all(before.values())

        client.flushall()
        wait_for(lambda: _balances(model) == before, "balances back after FLUSHALL", 60)

        server.kill()  # the server crashes, and its disk with it
        shutil.rmtree(data)
        _round(writer, 300)  # the journal moves on while Redis is down
        wait_for(lambda: "Redis unavailable" in mirror.log(), "the mirror to wait for Redis", 30)
        server.start()
        wait_for_offsets(model, settings)
        after = _balances(model)
        assert after.keys() == before.keys()
        for account, views in after.items():
            earlier = before[account]
            assert isinstance(views, list) and isinstance(earlier, list)
            assert views[0].available == earlier[0].available + 300 + int(account[1:])

        _round(writer, 400)  # and it keeps mirroring afterwards
        wait_for_offsets(model, settings)
        log = mirror.log()
        assert log.count("rebuilding it from the journal") >= 2, log[-3000:]
        assert "Crashed" not in log  # it waited for Redis rather than crash its agent
    finally:
        code = mirror.stop()
        client.close()
        server.kill()
    assert code in (0, -signal.SIGTERM), mirror.log()[-3000:]
