"""What regions cost and how fast they are (`ledger bench-regions`), on the local regions stack.

1. One region: the bench's workload (bench/kit/workload.py) through `ledger core` and `ledger
   mirror` on the first region's cluster, without regions and with MirrorMaker 2 stopped:
   the baseline.
2. Two regions: the same workload through the same processes with LEDGER_REGION set, while
   the second region runs its core, mirror and relay and MirrorMaker 2 copies the journal
   across. Against phase 1 on the same machine in one run: requests/s end to end and CPU µs
   per request of the core (the cost of regions), and the **replication lag** of every event:
   decided at home (`processed_at_ms`) to committed in the other region's copy (read there
   read_committed; both clusters share this machine's clock). Events decided before the copy
   began to flow (MirrorMaker discovering the new topics) are not counted.
3. **Cross-region transfers**: members of the first region pay members homed in the second,
   paced; latency from the TRANSFER sent in the first region to the credit visible in the
   second region's Redis (debit, outbox, MirrorMaker 2, relay, credit, mirror).

Every run has topics and keys of its own (`rb<id>a.` and `rb<id>b.`), removed at the end in
both clusters.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from bench.context import BenchContext
from bench.kit.kafka_io import remove_run_data
from bench.kit.model import LedgerModel, ModelRequest
from bench.kit.requests import AccountHistory, RequestEncoder
from bench.kit.workload import ASSET, Workload, generate
from bench.ledger_phase import run_ours
from bench.mix import DEFAULT_MIX, Mix
from bench.phases import wait_ready
from bench.processes import Child, child_env, ledger_child, read_usage
from bench.progress import say
from bench.replication import LagCollector, wait_copying
from bench.watch import freshness_report
from processors.produce import produce
from processors.topics import ensure_topics, ledger_topics
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings

SETTLE_TIMEOUT_S = 60.0
TRANSFER_TIMEOUT_S = 120.0
POLL_S = 0.05


@dataclass(frozen=True)
class RegionsBenchOptions:
    requests: int = 20_000
    accounts: int = 2_000
    transfers: int = 200
    transfer_rate: float = 20.0
    seed: int = 1
    partitions: int = 6
    ready_timeout_s: float = 120.0


@dataclass(frozen=True)
class Replication:
    """MirrorMaker 2 as the bench drives it: stopped for the one-region baseline."""

    stop: Callable[[], object]
    start: Callable[[], object]
    pid: Callable[[], int | None]


@dataclass(frozen=True)
class _Run:
    options: RegionsBenchOptions
    project_root: Path
    run_dir: Path
    stream: TextIO

    def context(self, settings: Settings, name: str) -> BenchContext:
        run_dir = self.run_dir / name
        run_dir.mkdir(parents=True, exist_ok=True)
        return BenchContext(
            settings=settings,
            admin=AdminClient(settings.kafka_config()),
            contracts=WireContracts.for_registry(None),
            project_root=self.project_root,
            run_dir=run_dir,
            stream=self.stream,
            rate=None,
            ready_timeout_s=self.options.ready_timeout_s,
            stall_timeout_s=self.options.ready_timeout_s,
        )


def run_regions_bench(
    regions: dict[str, Settings],
    options: RegionsBenchOptions,
    replication: Replication,
    project_root: Path,
    run_dir: Path,
    stream: TextIO,
) -> dict[str, Any]:
    run = _Run(options, project_root, run_dir, stream)
    home, away = list(regions)[:2]
    run_id = uuid.uuid4().hex[:8]
    one = replace(_run_settings(regions[home], f"rb{run_id}a", options), region="", regions="")
    two = {name: _run_settings(regions[name], f"rb{run_id}b", options) for name in (home, away)}
    result: dict[str, Any] = {"run_id": run_id, "regions": [home, away], "options": vars(options)}
    workload = generate(
        WireContracts.for_registry(None),
        one.topics.requests,
        options.partitions,
        options.requests,
        options.accounts,
        Mix.parse(DEFAULT_MIX),
        options.seed,
    )
    try:
        say(stream, f"one region ({home}), MirrorMaker 2 stopped")
        replication.stop()
        try:
            result["one_region"] = _ours(run, one, workload, "one")
        finally:
            replication.start()
        say(stream, f"two regions ({home} and {away}), MirrorMaker 2 copying")
        result.update(_two_regions(run, two, home, away, workload, replication))
    finally:
        _clean(one, [])
        for name, settings in two.items():
            copies = [f"{other}.{settings.topic_prefix}" for other in two if other != name]
            _clean(settings, copies)
    result["cost"] = _cost(result)
    return result


def _run_settings(base: Settings, prefix: str, options: RegionsBenchOptions) -> Settings:
    return replace(
        base,
        topic_prefix=f"{prefix}.",
        redis_key_prefix=f"{prefix}:",
        partitions=options.partitions,
        core_group_id=f"{prefix}.core",
    )


def _ours(run: _Run, settings: Settings, workload: Workload, name: str) -> dict[str, Any]:
    ctx = run.context(settings, name)
    ensure_topics(ctx.admin, ledger_topics(settings))
    report = run_ours(ctx, workload, 1, mirror=True).report
    keys = (
        "complete",
        "requests_per_s",
        "journal_events",
        "core_cpu_us_per_request",
        "mirror_cpu_us_per_request",
        "balances_verified",
        "freshness",
        "error",
    )
    return {key: report.get(key) for key in keys}


def _two_regions(
    run: _Run,
    two: dict[str, Settings],
    home: str,
    away: str,
    workload: Workload,
    replication: Replication,
) -> dict[str, Any]:
    for settings in two.values():
        ensure_topics(AdminClient(settings.kafka_config()), ledger_topics(settings))
    say(run.stream, "waiting for MirrorMaker 2 to copy the run's topics")
    wait_copying(two[home], two[away], home)
    lag = LagCollector(two[away], f"{home}.{two[home].topics.events}")
    mm2_before = _cpu_s(replication.pid())
    with _running(run, two[away], ("core", "mirror", "relay"), away) as there:
        lag.start()
        ours = _ours(run, two[home], workload, home)
        lag.wait_for(ours.get("journal_events") or 0)
        replicated = lag.count
        mm2_cpu_s = _cpu_s(replication.pid()) - mm2_before
        away_cpu = {child.name: round(child.usage().cpu_s, 2) for child in there}
        transfers = run.options.transfers
        say(run.stream, f"cross-region transfers: {transfers} at {run.options.transfer_rate}/s")
        with _running(run, two[home], ("core", "mirror"), f"{home}-transfers") as here:
            # The burst's backlog (the other region's mirror applying the copy) must not be
            # counted as transfer latency: start once every process is idle.
            _settle([*there, *here], replication.pid())
            paced_since = _now_ms()
            latencies = _transfers(two[home], two[away], workload.model, run.options)
        lag.stop()
    return {
        "two_regions": ours,
        "replication_lag": freshness_report(lag.lags_ms(until_ms=paced_since)),
        "replication_lag_paced": freshness_report(lag.lags_ms(since_ms=paced_since)),
        "replicated_events": replicated,
        "away_cpu_s": away_cpu,
        "mirrormaker_cpu_us_per_event": round(mm2_cpu_s * 1e6 / replicated, 1)
        if replicated
        else None,
        "transfer_latency": freshness_report(latencies),
        "transfers": {"sent": transfers, "credited": len(latencies)},
    }


@contextmanager
def _running(
    run: _Run, settings: Settings, names: Sequence[str], label: str
) -> Iterator[list[Child]]:
    """`ledger <name>` children on `settings`' cluster, ready, stopped on the way out."""
    run_dir = run.run_dir / label
    run_dir.mkdir(parents=True, exist_ok=True)
    env = child_env(settings, LEDGER_MIRROR_GROUP_ID=f"{settings.topic_prefix}mirror")
    children = [ledger_child(name, [name], env, run_dir) for name in names]
    try:
        for child in children:
            child.start(run.project_root)
        admin = AdminClient(settings.kafka_config())
        wait_ready(
            admin,
            settings.core_group_id,
            settings.topics.requests,
            settings.partitions,
            children,
            run.options.ready_timeout_s,
        )
        yield children
    finally:
        for child in children:
            child.stop()


def _transfers(
    home: Settings, away: Settings, model: LedgerModel, options: RegionsBenchOptions
) -> list[float]:
    """Milliseconds from each TRANSFER sent at home to its credit visible away."""
    payers = [name for name, (available, _) in model.balances(ASSET).items() if available > 0]
    if not payers:
        return []
    encoder = RequestEncoder(
        WireContracts.for_registry(None), home.topics.requests, _now_ms(), "bench"
    )
    producer = Producer(home.kafka_config({"linger.ms": 0, "enable.idempotence": True}))
    reader = SyncReadModel(redis.Redis.from_url(away.redis_url), away.redis_key_prefix)
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    interval = 1.0 / options.transfer_rate
    for n in range(options.transfers):
        payer, payee = payers[n % len(payers)], f"us-rbpayee{n:05d}"
        request = ModelRequest(f"rbx-{n}", payer, "TRANSFER", ASSET, 1, None, payee)
        history = AccountHistory(payer)
        key = history.key()
        produce(
            producer,
            home.topics.requests,
            encoder.encode(request),
            key,
            history.owner(home.partitions),
        )
        producer.poll(0)
        sent_at[payee] = time.monotonic()
        latencies += _credited(reader, sent_at)
        time.sleep(interval)
    producer.flush(30)
    deadline = time.monotonic() + TRANSFER_TIMEOUT_S
    while sent_at and time.monotonic() < deadline:
        latencies += _credited(reader, sent_at)
        time.sleep(POLL_S)
    return latencies


def _credited(reader: SyncReadModel, waiting: dict[str, float]) -> list[float]:
    now = time.monotonic()
    done = [payee for payee in waiting if reader.balances("acme", payee)]
    return [(now - waiting.pop(payee)) * 1000 for payee in done]


def _cost(result: dict[str, Any]) -> dict[str, Any]:
    one, two = result.get("one_region") or {}, result.get("two_regions") or {}
    ratio = None
    if one.get("requests_per_s") and two.get("requests_per_s"):
        ratio = round(two["requests_per_s"] / one["requests_per_s"], 3)
    cpu = None
    if one.get("core_cpu_us_per_request") and two.get("core_cpu_us_per_request"):
        cpu = round(two["core_cpu_us_per_request"] / one["core_cpu_us_per_request"], 3)
    return {"throughput_two_over_one": ratio, "core_cpu_two_over_one": cpu}


def _settle(children: Sequence[Child], pid: int | None) -> None:
    """Until the processes (and MirrorMaker 2) use under a tenth of a core for two seconds
    running, or SETTLE_TIMEOUT_S passed."""
    pids = [child.pid for child in children] + ([pid] if pid is not None else [])
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    quiet = 0
    before = sum(_cpu_s(p) for p in pids)
    while quiet < 4 and time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(_cpu_s(p) for p in pids)
        quiet = quiet + 1 if now - before < 0.05 else 0
        before = now


def _cpu_s(pid: int | None) -> float:
    return read_usage(pid).cpu_s if pid is not None else 0.0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _clean(settings: Settings, copies: list[str]) -> None:
    admin = AdminClient(settings.kafka_config())
    groups = [settings.core_group_id, f"{settings.topic_prefix}mirror"]
    for prefix in [settings.topic_prefix, *copies]:
        remove_run_data(admin, prefix, groups)
    client = redis.Redis.from_url(settings.redis_url)
    keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
