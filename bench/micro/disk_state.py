"""How many accounts one core holds with its state on disk, and how fast it gets them back.

Seeds `--accounts` state records straight into the state changelog of fresh topics (what a
core writes for an account with two balances and two lots), then, in this process:

1. a cold restore into disk stores (a temporary LEDGER_STATE_DIR): accounts/s and the RSS it
   adds per account;
2. the same stores closed, reopened and restored again, as a restarted core does: their
   checkpoint is the changelog's end, so only the tail (nothing) is read;
3. random reads of accounts through the stores (a working set larger than their caches);
4. for comparison, a cold restore into memory stores, as a core without LEDGER_STATE_DIR
   (skipped with --no-memory).

    .venv/bin/python -m bench.micro.disk_state --accounts 1000000

Needs the local stack (`make setup` or `ledger services up`). Prints figures; asserts none.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from ledger.model import AccountState, Balance, Lot
from processors.core.changelog import open_stores, owned, restore_partitions
from processors.core.store import StateStore
from processors.produce import produce
from processors.topics import delete_topics, ensure_topics, ledger_topics
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings

PROGRAM = "acme"
READS = 200_000
YEAR_MS = 365 * 24 * 3600 * 1000


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def account_state(n: int, now_ms: int) -> AccountState:
    points, cash = 1_000 + n % 50_000, 250 + n % 9_000
    return AccountState(
        PROGRAM,
        f"m{n}",
        sequence=1 + n % 40,
        clock_ms=now_ms,
        balances={"points": Balance("points", points, 0), "eur": Balance("eur", cash, 0)},
        lots={
            "points": (Lot(f"{n}.1", "points", points, now_ms + YEAR_MS, 1),),
            "eur": (Lot(f"{n}.2", "eur", cash, None, 1),),
        },
    )


def seed(settings: Settings, contracts: WireContracts, accounts: int) -> float:
    producer = Producer(settings.kafka_config({"linger.ms": 50, "compression.type": "lz4"}))
    topic = settings.topics.state_changelog
    now_ms = time.time_ns() // 10**6
    started = time.perf_counter()
    for n in range(accounts):
        state = account_state(n, now_ms)
        key = account_key(PROGRAM, state.account_id)
        value = contracts.encode_state(state, topic, memory=False)
        produce(producer, topic, value, key, partition_for(key, settings.partitions))
        if n % 10_000 == 0:
            producer.poll(0)
    producer.flush(600)
    return time.perf_counter() - started


def restore(settings: Settings, contracts: WireContracts, stores: dict[int, StateStore]) -> str:
    gc.collect()
    before = rss_mb()
    report = restore_partitions(settings, contracts, stores, 7200)
    gc.collect()
    grown = rss_mb() - before
    return (
        f"{report.accounts:,} accounts from {report.records:,} changelog records in "
        f"{report.seconds:.1f} s ({report.accounts / max(report.seconds, 1e-9):,.0f} "
        f"accounts/s); RSS +{grown:.0f} MiB = "
        f"{grown * 2**20 / max(report.accounts, 1):,.0f} bytes/account"
    )


def random_reads(stores: dict[int, StateStore], accounts: int, partitions: int) -> str:
    rng = random.Random(1)
    keys = [account_key(PROGRAM, f"m{rng.randrange(accounts)}") for _ in range(READS)]
    started, cpu = time.perf_counter(), time.process_time()
    for key in keys:
        stores[partition_for(key, partitions)].get(key)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return f"{READS / elapsed:,.0f} reads/s, {cpu / READS * 1e6:.1f} µs CPU each"


def close(stores: dict[int, StateStore]) -> None:
    for store in stores.values():
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory restore")
    args = parser.parse_args()
    prefix = f"bench-disk-{uuid.uuid4().hex[:8]}."
    state_dir = Path(tempfile.mkdtemp(prefix="ledger-disk-state-"))
    settings = replace(
        Settings.from_env(os.environ),
        topic_prefix=prefix,
        partitions=args.partitions,
        core_group_id=f"{prefix}core",
        state_dir=str(state_dir),
    )
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    contracts = WireContracts.for_registry(None)
    partitions = range(settings.partitions)
    try:
        seconds = seed(settings, contracts, args.accounts)
        print(f"seeded {args.accounts:,} account states in {seconds:.1f} s")
        stores = open_stores(settings, partitions, "bench")
        print(f"disk, cold restore: {restore(settings, contracts, stores)}")
        print(f"disk, random reads: {random_reads(stores, args.accounts, settings.partitions)}")
        close(stores)
        disk_mb = sum(f.stat().st_size for f in state_dir.rglob("*") if f.is_file()) / 2**20
        print(f"disk used: {disk_mb:,.0f} MiB = {disk_mb * 2**20 / args.accounts:,.0f} B/account")
        started = time.perf_counter()
        stores = open_stores(settings, partitions, "bench")
        summary = restore(settings, contracts, stores)
        print(f"disk, restart: open + restore in {time.perf_counter() - started:.1f} s: {summary}")
        close(stores)
        if not args.no_memory:
            memory: dict[int, StateStore] = dict(owned(partitions))
            print(f"memory, cold restore: {restore(settings, contracts, memory)}")
    finally:
        delete_topics(admin, [spec.name for spec in ledger_topics(settings)])
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
