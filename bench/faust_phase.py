"""The peer's phase: the same workload through the Faust exactly_once peer (faust_peer.py).

The workload is produced again, the same way, to the peer's own requests topic while the
peer runs, and the phase ends when every outcome record is committed. The peer is then
stopped and its final balances are read back from its table's changelog (read_committed),
the durable state a restarted Faust worker would recover: they must be the model's.
Whatever goes wrong (Faust's exactly_once refusing this broker, a crash, a stall) is kept
in the report with the peer's own log, not hidden.

Long on purpose: `run_peer` starts, watches and stops the peer in one try/finally, so it never
outlives a failed run.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from typing import Any

from bench.context import BenchContext
from bench.faust_app import PeerConfig
from bench.kit.kafka_io import create_topics, read_to_end
from bench.kit.model import ModelAccount
from bench.kit.verify import verify_peer_accounts
from bench.kit.workload import ASSET, Workload, outcome_label
from bench.phases import PhaseFailed, Watch, wait_for_outcomes, wait_ready
from bench.processes import module_child
from bench.produce import WorkloadProducer
from bench.progress import Progress, say
from bench.watch import (
    JOIN_TIMEOUT_S,
    SendTimes,
    TopicCollector,
    WatchFailed,
    freshness_report,
)

PEER_NAME = "faust-eos"
FRESHNESS_PATH = "request sent -> peer outcome readable (read_committed)"


def peer_config(ctx: BenchContext) -> PeerConfig:
    prefix = ctx.settings.topic_prefix
    return PeerConfig(
        bootstrap_servers=ctx.settings.kafka_bootstrap_servers,
        app_id=f"{prefix}peer",
        requests_topic=f"{prefix}peer.requests",
        outcomes_topic=f"{prefix}peer.outcomes",
        partitions=ctx.settings.partitions,
    )


def run_peer(
    ctx: BenchContext, workload: Workload, our_balances: dict[str, tuple[int, int]]
) -> dict[str, Any]:
    config = peer_config(ctx)
    expected = len(workload.records)
    create_topics(ctx.admin, [config.requests_topic, config.outcomes_topic], config.partitions)
    peer = module_child("peer-faust", "bench.faust_app", ctx.child_env(**config.env()), ctx.run_dir)
    outcomes = TopicCollector(ctx.settings, config.outcomes_topic)
    producer = WorkloadProducer(ctx.settings, config.requests_topic, workload.records, ctx.rate)
    report: dict[str, Any] = {
        "name": PEER_NAME,
        "processing_guarantee": "exactly_once",
        "freshness_path": FRESHNESS_PATH,
        "error": None,
    }
    cpu_before = 0.0
    try:
        peer.start(ctx.project_root)
        say(ctx.stream, "starting the Faust peer (processing_guarantee=exactly_once)")
        report["ready_s"] = round(
            wait_ready(
                ctx.admin,
                config.app_id,
                config.requests_topic,
                config.partitions,
                [peer],
                ctx.ready_timeout_s,
            ),
            1,
        )
        outcomes.start()
        cpu_before = peer.usage().cpu_s
        producer.start()
        progress = Progress("faust peer ", expected, ctx.stream)
        watch = Watch("peer outcomes", lambda: outcomes.seen, lambda: outcomes.error)
        wait_for_outcomes([watch], expected, producer, [peer], progress, ctx.stall_timeout_s)
    except (PhaseFailed, WatchFailed) as failure:
        report["error"] = str(failure)
    finally:
        usage = peer.usage()
        report["exit_code"] = peer.stop()
        report["stopped"] = {"seconds": peer.stop_s, "killed": peer.killed}
        outcomes.stop()
        shutil.rmtree(config.datadir, ignore_errors=True)
        if producer.ident is not None:
            producer.join(JOIN_TIMEOUT_S)
    report["cpu_s"] = round(usage.cpu_s - cpu_before, 2)
    report["peak_rss_mb"] = round(usage.peak_rss_mb, 1)
    report["requests"] = expected
    report["outcomes"] = outcomes.seen
    report["complete"] = report["error"] is None
    if report["complete"] and outcomes.arrivals:
        elapsed = outcomes.arrivals[-1].at - producer.started_at
        report["elapsed_s"] = round(elapsed, 2)
        report["requests_per_s"] = round(expected / elapsed, 1)
    else:
        report["elapsed_s"] = report["requests_per_s"] = None

    counts: Counter[str] = Counter()
    times = []
    for arrival in outcomes.arrivals:
        request_id, status, reason = json.loads(arrival.value)
        counts[outcome_label(status, reason)] += 1
        times.append((_account(arrival.key or b""), request_id, arrival.at))
    report["freshness"] = freshness_report(
        SendTimes(workload.records, producer.sent_at).latencies_ms(times)
    )

    accounts = {
        _account(key): ModelAccount.from_json(value)
        for key, value in read_to_end(ctx.settings, config.changelog_topic, config.partitions)
        if value  # a tombstone would mean the table deleted an account: the bench never does
    }
    verification = verify_peer_accounts(
        accounts, workload.model.balances(ASSET), counts, workload.expected_outcomes
    )
    report["balances_verified"] = verification.balances_verified
    report["outcomes_verified"] = verification.outcomes_verified
    report["balances_equal_ours"] = verification.balances == our_balances if our_balances else None
    report["outcome_counts"] = verification.outcome_counts
    report["mismatches"] = verification.mismatches
    if report["error"]:
        report["log_tail"] = peer.log_tail()
        report["log"] = str(peer.log_path)
    return report


def _account(key: bytes) -> str:
    """`program:account` -> account."""
    return key.decode().partition(":")[2]
