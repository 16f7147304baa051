"""What the region tests share: sending requests to regions, and waiting for what a model
says to be readable at each member's home."""

from __future__ import annotations

import os
import signal
import time

import redis

from bench.kit.hostile import WorkItem
from bench.kit.model import LedgerModel
from cli.devstack.regions import RegionsStack
from readmodel.reader import SyncReadModel
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.stacks import ledger

PROGRAM = "acme"
VISIBLE_TIMEOUT_S = 120.0


def send_anywhere(settings: dict[str, Settings], home: str, items: list[WorkItem]) -> None:
    """Writes anywhere: most requests go to their member's home, one in five to the other
    region (forwarded home through the outbox), one in seven to both (the request id decides:
    applied once)."""
    away = next(name for name in settings if name != home)
    sent: dict[str, list[WorkItem]] = {home: [], away: []}
    for index, item in enumerate(items):
        if index % 7 == 3:
            sent[home].append(item)
            sent[away].append(item)
        else:
            sent[away if index % 5 == 0 else home].append(item)
    for name, batch in sent.items():
        produce(settings[name], batch)


def wait_visible(
    settings: dict[str, Settings], models: dict[str, LedgerModel], asset: str = "points"
) -> None:
    """Until every member's balance of `asset` reads, at home, as its region's model says."""
    for home, model in models.items():
        read_model = SyncReadModel(
            redis.Redis.from_url(settings[home].redis_url), settings[home].redis_key_prefix
        )
        wanted = {member: balance for member, balance in model.balances(asset).items()}
        deadline = time.monotonic() + VISIBLE_TIMEOUT_S
        while True:
            found = {m: balance(read_model, m, asset) for m in wanted}
            if found == wanted:
                break
            differ = sorted(m for m in wanted if found[m] != wanted[m])
            assert time.monotonic() < deadline, (
                f"{home}: {len(differ)} of {len(wanted)} members' {asset} never read as the "
                f"model says, e.g. {differ[0]}: {found[differ[0]]} != {wanted[differ[0]]}"
            )
            time.sleep(0.5)


def balance(read_model: SyncReadModel, member: str, asset: str = "points") -> tuple[int, int]:
    """(available, held) of one member's asset in a read model."""
    for found in read_model.balances(PROGRAM, member):
        if found.asset == asset:
            return found.available, found.held
    return 0, 0


def kill_and_restart_mirrormaker(regions: RegionsStack, down_s: float) -> None:
    """SIGKILL MirrorMaker 2 (no clean shutdown: its open transactions are left to the
    brokers), wait `down_s`, and start it again as an operator would (`ledger services up`)."""
    pid = kill_mirrormaker(regions)
    time.sleep(down_s)
    restart_mirrormaker(regions, pid)


def kill_mirrormaker(regions: RegionsStack) -> int:
    """SIGKILL MirrorMaker 2; its pid."""
    pid = regions.mirrormaker.process.pid()
    assert pid is not None, "MirrorMaker 2 is not running"
    os.kill(pid, signal.SIGKILL)
    return pid


def restart_mirrormaker(regions: RegionsStack, killed_pid: int) -> None:
    """Start MirrorMaker 2 again as an operator would (`ledger services up`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "KAFKA_"))}
    env.update(regions.settings.to_env())
    ledger(env, "services", "up", "--regions", ",".join(regions.names))
    assert regions.mirrormaker.process.pid() not in (None, killed_pid)
