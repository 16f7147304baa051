"""One bench run, start to finish: prepare, our phase, verification, ceiling, peer, clean up.

1. A unique prefix (`bench-<hex>.` for topics, `bench-<hex>:` for Redis keys, groups named
   after it) so a run can never touch a deployment's data, and topics made for it.
2. The workload is generated (and encoded) before anything is timed.
3. Our phase (ours.py), with the journal verified against the model.
4. The ceiling (ceiling.py), after our processes have stopped so they do not share the CPU.
5. The peer (peer.py), when asked for.
6. The gateway's HTTP figures under wrk (http_phase.py), when asked for (`--http-seconds`).
7. Every topic under the prefix, the run's groups and Redis keys are deleted (unless kept).

Long on purpose: `run_bench` is the run in the numbered order above, inside the one try/finally
that removes its topics.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import redis
from confluent_kafka.admin import AdminClient

from bench.ceiling import CeilingError, measure_ceiling
from bench.context import BenchContext
from bench.faust_phase import peer_config, run_peer
from bench.http_phase import HttpPhaseFailed, run_http
from bench.kit.kafka_io import create_topics, remove_run_data
from bench.kit.workload import generate
from bench.ledger_phase import run_ours
from bench.mix import Mix
from bench.progress import say
from processors.topics import ensure_topics, ledger_topics
from schemas.contracts import WireContracts
from settings import Settings

RESULT_VERSION = 1
CEILING_RECORDS_MIN = 10_000
REDIS_DELETE_BATCH = 1_000


@dataclass(frozen=True)
class BenchOptions:
    requests: int
    accounts: int
    mix: Mix
    rate: float | None
    seed: int
    partitions: int
    processors: int
    mirror: bool
    peer: str | None
    ceiling: bool
    ceiling_records: int | None
    keep: bool
    ready_timeout_s: float
    stall_timeout_s: float
    http_seconds: float = 0.0  # 0: no HTTP phase
    gateway_workers: int = 1


@dataclass(frozen=True)
class KafkaTools:
    java: str
    libs: Path


def run_bench(
    options: BenchOptions,
    base: Settings,
    tools: KafkaTools | None,
    project_root: Path,
    run_dir: Path,
    stream: TextIO,
) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    topic_prefix = f"bench-{run_id}."
    settings = replace(
        base,
        topic_prefix=topic_prefix,
        redis_key_prefix=f"bench-{run_id}:",
        partitions=options.partitions,
        core_group_id=f"{topic_prefix}core",
    )
    admin = AdminClient(settings.kafka_config())
    contracts = WireContracts.for_registry(settings.schema_registry_url)
    ctx = BenchContext(
        settings=settings,
        admin=admin,
        contracts=contracts,
        project_root=project_root,
        run_dir=run_dir,
        stream=stream,
        rate=options.rate,
        ready_timeout_s=options.ready_timeout_s,
        stall_timeout_s=options.stall_timeout_s,
    )
    result: dict[str, Any] = {
        "version": RESULT_VERSION,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "topic_prefix": topic_prefix,
        "machine": _machine(),
        "config": {
            "requests": options.requests,
            "accounts": options.accounts,
            "mix": str(options.mix),
            "rate_per_s": options.rate,
            "seed": options.seed,
            "partitions": options.partitions,
            "processors": options.processors,
            "batch_records_max": settings.batch_records_max,
            "batch_time_max_ms": settings.batch_time_max_ms,
            "mirror": options.mirror,
            "peer": options.peer,
        },
    }
    stages = StageClock()
    result["stage_seconds"] = stages.seconds
    try:
        ensure_topics(admin, ledger_topics(settings))
        say(stream, f"generating {options.requests:,} requests over {options.accounts:,} accounts")
        workload = generate(
            contracts,
            settings.topics.requests,
            options.partitions,
            options.requests,
            options.accounts,
            options.mix,
            options.seed,
        )
        stages.lap("workload")
        result["workload"] = {
            "records": len(workload.records),
            "kinds": dict(sorted(workload.kinds.items())),
            "expected_outcomes": dict(sorted(workload.expected_outcomes.items())),
            "key_bytes_mean": workload.key_bytes_mean,
            "value_bytes_mean": workload.value_bytes_mean,
        }
        ours = run_ours(ctx, workload, options.processors, options.mirror)
        stages.lap("ours")
        result["ours"] = ours.report
        result["balances_verified"] = ours.report["balances_verified"]
        record_bytes = workload.key_bytes_mean + workload.value_bytes_mean
        result["ceiling"] = _ceiling(ctx, options, tools, record_bytes)
        stages.lap("ceiling")
        _add_ratio(result)
        result["peer"] = run_peer(ctx, workload, ours.balances) if options.peer else None
        stages.lap("peer")
        result["http"] = _http(settings, options, stream)
        stages.lap("http")
    finally:
        result["machine"]["load_avg_after"] = list(os.getloadavg())
        if not options.keep:
            groups = [settings.core_group_id, ctx.mirror_group, peer_config(ctx).app_id]
            remove_run_data(admin, topic_prefix, groups)
            _remove_redis_keys(settings)
        stages.lap("cleanup")
    return result


class StageClock:
    """Seconds spent in each stage of the run, for the result file."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.since = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.seconds[stage] = round(now - self.since, 1)
        self.since = now


def _ceiling(
    ctx: BenchContext, options: BenchOptions, tools: KafkaTools | None, record_bytes: int
) -> dict[str, Any] | None:
    if not options.ceiling:
        return None
    if tools is None:
        return {"error": "java or the Kafka jars were not found"}
    records = options.ceiling_records or max(options.requests, CEILING_RECORDS_MIN)
    topic = f"{ctx.settings.topic_prefix}ceiling"
    create_topics(ctx.admin, [topic], options.partitions)
    say(ctx.stream, f"ceiling: Kafka's perf tools, {records:,} records of {record_bytes} bytes")
    try:
        ceiling = measure_ceiling(
            tools.java,
            tools.libs,
            ctx.settings.kafka_bootstrap_servers,
            topic,
            records,
            record_bytes,
            options.partitions,
        )
    except CeilingError as error:
        return {"error": str(error)}
    return {
        "tool": "org.apache.kafka.tools.ProducerPerformance / ConsumerPerformance (acks=all)",
        "records": ceiling.records,
        "record_bytes": ceiling.record_bytes,
        "partitions": ceiling.partitions,
        "produce_records_per_s": ceiling.produce_records_per_s,
        "produce_mb_per_s": ceiling.produce_mb_per_s,
        "produce_latency_p99_ms": ceiling.produce_latency_p99_ms,
        "consume_records_per_s": ceiling.consume_records_per_s,
        "consume_records_per_s_with_join": ceiling.consume_records_per_s_with_join,
        "consume_mb_per_s": ceiling.consume_mb_per_s,
        "records_per_s": ceiling.records_per_s,
    }


def _http(settings: Settings, options: BenchOptions, stream: TextIO) -> dict[str, Any] | None:
    if options.http_seconds <= 0:
        return None
    say(stream, f"http: wrk against the gateway, {options.gateway_workers} worker(s)")
    try:
        return run_http(
            settings, options.gateway_workers, options.http_seconds, free_port(), stream
        )
    except (HttpPhaseFailed, subprocess.CalledProcessError) as error:
        return {"error": str(error)[:2000]}


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _add_ratio(result: dict[str, Any]) -> None:
    ceiling, ours = result.get("ceiling"), result["ours"]
    rate = ours.get("requests_per_s")
    if ceiling and "records_per_s" in ceiling and rate:
        ours["ratio_of_ceiling"] = round(rate / ceiling["records_per_s"], 4)
    else:
        ours["ratio_of_ceiling"] = None


def _machine() -> dict[str, Any]:
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_before": list(os.getloadavg()),
    }


def _remove_redis_keys(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        batch = []
        for key in client.scan_iter(
            match=f"{settings.redis_key_prefix}*", count=REDIS_DELETE_BATCH
        ):
            batch.append(key)
            if len(batch) >= REDIS_DELETE_BATCH:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
    finally:
        client.close()
