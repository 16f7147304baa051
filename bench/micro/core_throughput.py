"""How fast one core processor applies requests exactly once on this machine.

Produces a backlog of requests (a realistic mix over many accounts) to fresh topics on the
local broker, then runs one `CoreProcessor` in this process until every request has an
outcome, and reports requests/s, batch commit latency, and, by restoring the resulting
changelog into fresh stores, restore time and memory per account.

    .venv/bin/python -m bench.micro.core_throughput --requests 200000 --accounts 50000

Needs the local stack (`make setup` or `ledger services up`). Prints figures; asserts none.

Long on purpose: `main` is the benchmark's script, step by step.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import threading
import time
import uuid
from dataclasses import replace

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from ledger.model import Operation, Request
from processors.core.changelog import owned, restore_partitions
from processors.core.loop import CoreProcessor
from processors.produce import produce
from processors.topics import delete_topics, ensure_topics, ledger_topics
from schemas.contracts import WireContracts
from schemas.partitioning import account_key
from settings import Settings
from settings.programs import load_programs

MIX = ((Operation.ACCRUE, 0.6), (Operation.REDEEM, 0.3), (Operation.TRANSFER, 0.1))


def produce_backlog(
    settings: Settings, contracts: WireContracts, requests: int, accounts: int, seed: int
) -> float:
    rng = random.Random(seed)
    producer = Producer(
        settings.kafka_config(
            {"partitioner": "murmur2_random", "linger.ms": 20, "compression.type": "lz4"}
        )
    )
    now_ms = time.time_ns() // 10**6
    operations = [op for op, _ in MIX]
    weights = [w for _, w in MIX]
    started = time.perf_counter()
    for n in range(requests):
        account = f"a{rng.randrange(accounts)}"
        operation = rng.choices(operations, weights)[0]
        request = Request(
            request_id=f"b{n}",
            program="acme",
            account_id=account,
            operation=operation,
            asset="points",
            amount=rng.randint(1, 500),
            requested_at_ms=now_ms,
            principal="bench",
            counterparty_account_id=f"a{rng.randrange(accounts)}"
            if operation is Operation.TRANSFER
            else None,
        )
        value = contracts.encode_request(request, settings.topics.requests)
        produce(producer, settings.topics.requests, value, account_key("acme", account))
    producer.flush(120)
    return time.perf_counter() - started


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--batch-records-max", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    base = Settings.from_env(os.environ)
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    settings = replace(
        base,
        topic_prefix=prefix,
        partitions=args.partitions,
        core_group_id=f"{prefix}core",
        batch_records_max=args.batch_records_max,
    )
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    contracts = WireContracts.for_registry(None)
    try:
        produced_s = produce_backlog(settings, contracts, args.requests, args.accounts, args.seed)
        print(
            f"backlog: {args.requests} requests over {args.accounts} accounts "
            f"produced in {produced_s:.1f} s"
        )

        processor = CoreProcessor(
            settings, load_programs(settings.programs_config), contracts, "bench-1"
        )
        stop = threading.Event()
        worker = threading.Thread(target=processor.run, args=(stop,), daemon=True)
        cpu_before = time.process_time()
        worker.start()
        while processor.stats.records_in == 0:
            time.sleep(0.01)
        started = time.perf_counter()
        first = processor.stats.records_in
        while processor.stats.records_in < args.requests + _credits_hint(processor):
            time.sleep(0.05)
            if time.perf_counter() - started > 3600:
                break
            if processor.stats.records_in >= args.requests and _idle(processor):
                break
        elapsed = time.perf_counter() - started
        stop.set()
        worker.join(60)
        cpu = time.process_time() - cpu_before
        stats = processor.stats
        latencies = sorted(stats.commit_latencies_ms)
        rate = (stats.records_in - first) / elapsed
        print(
            f"core: {stats.records_in} records ({stats.decided} decided, {stats.forwarded} "
            f"forwarded) in {elapsed:.1f} s = {rate:,.0f} records/s, {stats.batches} batches "
            f"(mean {stats.records_in / max(stats.batches, 1):.0f} records)"
        )
        print(
            f"batch commit latency: p50 {statistics.median(latencies):.1f} ms, "
            f"p99 {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms, "
            f"max {latencies[-1]:.1f} ms; process CPU {cpu:.1f} s"
        )

        gc.collect()
        before = rss_mb()
        stores = owned(range(settings.partitions))
        report = restore_partitions(settings, contracts, stores, 3600)
        gc.collect()
        grown = rss_mb() - before
        per_account = grown * 2**20 / max(report.accounts, 1)
        print(
            f"restore: {report.accounts} accounts from {report.records} changelog records in "
            f"{report.seconds:.1f} s ({report.accounts / report.seconds:,.0f} accounts/s); "
            f"RSS +{grown:.0f} MiB = {per_account:,.0f} bytes/account; 1 million accounts: "
            f"~{1_000_000 / (report.accounts / report.seconds):.0f} s and "
            f"~{per_account * 1_000_000 / 2**30:.1f} GiB (extrapolated)"
        )
        print(
            f"peak RSS of this process: "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
    finally:
        delete_topics(admin, [spec.name for spec in ledger_topics(settings)])


def _credits_hint(processor: CoreProcessor) -> int:
    return 0


def _idle(processor: CoreProcessor) -> bool:
    seen = processor.stats.records_in
    time.sleep(1.0)
    return processor.stats.records_in == seen


if __name__ == "__main__":
    main()
