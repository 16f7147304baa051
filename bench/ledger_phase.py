"""Our phase: `ledger core` processes (and `ledger mirror` when it exists) under the workload.

End to end means: from the first request sent until the last outcome is visible, in Redis
when the mirror runs (an outcome message on its channel), else in the journal to a
read_committed consumer. Freshness is measured per request over the same path and labelled
with it.

Long on purpose: `run_ours` starts, watches and stops the processes under test in one
try/finally, so none outlives a failed run; the figures are computed apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.context import BenchContext
from bench.kit.verify import verify_journal
from bench.kit.workload import ASSET, Workload
from bench.phases import PhaseFailed, Watch, wait_for_outcomes, wait_ready, wait_until
from bench.processes import Child, Usage, ledger_child
from bench.produce import WorkloadProducer
from bench.progress import Progress, say
from bench.watch import (
    JOIN_TIMEOUT_S,
    RedisOutcomeWatcher,
    SendTimes,
    TopicCollector,
    WatchFailed,
    freshness_report,
    live_model_exists,
)
from ledger.model import LedgerEvent

JOURNAL_PATH = "request sent -> journal event readable (read_committed)"
REDIS_PATH = "request sent -> outcome visible in Redis (mirror's pub/sub message)"


@dataclass
class OursResult:
    report: dict[str, Any]
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)


def run_ours(ctx: BenchContext, workload: Workload, processors: int, mirror: bool) -> OursResult:
    settings = ctx.settings
    expected = len(workload.records)
    cores = [
        ledger_child(
            f"core-{n}",
            ["core", "--instance-id", f"bench-{n}", "--status-interval", "0"],
            ctx.child_env(),
            ctx.run_dir,
        )
        for n in range(1, processors + 1)
    ]
    mirrors = (
        [ledger_child("mirror", ["mirror", "--loglevel", "warning"], ctx.child_env(), ctx.run_dir)]
        if mirror
        else []
    )
    children = cores + mirrors
    journal = TopicCollector(settings, settings.topics.events)
    redis_watcher: RedisOutcomeWatcher | None = None
    producer = WorkloadProducer(settings, settings.topics.requests, workload.records, ctx.rate)
    report: dict[str, Any] = {
        "end_to_end": "redis" if mirror else "journal",
        "freshness_path": REDIS_PATH if mirror else JOURNAL_PATH,
        "processors": processors,
        "error": None,
    }
    usage_before: list[Usage] = []
    mirror_before: list[Usage] = []
    try:
        for child in children:
            child.start(ctx.project_root)
        say(
            ctx.stream,
            f"starting {processors} core processor(s)" + (" and the mirror" if mirror else ""),
        )
        report["ready_s"] = round(
            wait_ready(
                ctx.admin,
                settings.core_group_id,
                settings.topics.requests,
                settings.partitions,
                children,
                ctx.ready_timeout_s,
            ),
            1,
        )
        if mirror:
            report["mirror_ready_s"] = wait_ready(
                ctx.admin,
                ctx.mirror_group,
                settings.topics.events,
                settings.partitions,
                children,
                ctx.ready_timeout_s,
            )
            # A mirror without a live model rebuilds one from the journal without
            # publishing outcomes (processors/readside/heal.py): let it build the empty
            # model first, so every outcome of the run is published.
            report["mirror_model_s"] = wait_until(
                lambda: live_model_exists(settings),
                "the mirror's live model in Redis",
                children,
                ctx.ready_timeout_s,
            )
            redis_watcher = RedisOutcomeWatcher(settings)
            redis_watcher.start()
        journal.start()
        usage_before = [child.usage() for child in cores]
        mirror_before = [child.usage() for child in mirrors]
        producer.start()
        watches = [Watch("journal", lambda: journal.seen, lambda: journal.error)]
        if redis_watcher is not None:
            rw = redis_watcher
            watches.append(Watch("redis", lambda: rw.seen, lambda: rw.error))
        progress = Progress("ledger core", expected, ctx.stream)
        wait_for_outcomes(watches, expected, producer, children, progress, ctx.stall_timeout_s)
    except (PhaseFailed, WatchFailed) as failure:
        report["error"] = str(failure)
    finally:
        usage_after = [child.usage() for child in cores]
        mirror_usage = [child.usage() for child in mirrors]
        for child in children:
            child.stop()
        journal.stop()
        if redis_watcher is not None:
            redis_watcher.stop()
        if producer.ident is not None:
            producer.join(JOIN_TIMEOUT_S)

    mirror_spent = [
        Usage(after.cpu_s - before.cpu_s, after.peak_rss_mb)
        for before, after in zip(mirror_before or mirror_usage, mirror_usage, strict=True)
    ]
    report.update(_usage(cores, children, usage_before or usage_after, usage_after, mirror_spent))

    events = [ctx.contracts.decode_event(arrival.value) for arrival in journal.arrivals]
    report.update(_throughput(expected, producer, journal, redis_watcher, report["error"]))
    report.update(_cpu_per_request(report, expected))
    report.update(_freshness(workload, events, journal, producer, redis_watcher))
    verification = verify_journal(
        events, workload.model.balances(ASSET), workload.expected_outcomes
    )
    report["balances_verified"] = verification.balances_verified
    report["outcomes_verified"] = verification.outcomes_verified
    report["accounts_checked"] = verification.accounts_checked
    report["outcome_counts"] = verification.outcome_counts
    report["mismatches"] = verification.mismatches
    if report["error"]:
        report["logs"] = {child.name: str(child.log_path) for child in children}
    return OursResult(report, verification.balances)


def _usage(
    cores: list[Child],
    children: list[Child],
    before: list[Usage],
    after: list[Usage],
    mirror_usage: list[Usage],
) -> dict[str, Any]:
    """CPU and peak memory of the processes under test (from /proc), and how each stopped."""
    per_core: list[dict[str, Any]] = [
        {
            "name": child.name,
            "cpu_s": round(end.cpu_s - start.cpu_s, 2),
            "peak_rss_mb": round(end.peak_rss_mb, 1),
        }
        for child, start, end in zip(cores, before, after, strict=True)
    ]
    usage: dict[str, Any] = {
        "processor_usage": per_core,
        "stopped": {
            child.name: {"seconds": child.stop_s, "killed": child.killed} for child in children
        },
        "processor_cpu_s": round(sum(u["cpu_s"] for u in per_core), 2),
        "processor_peak_rss_mb": max((u["peak_rss_mb"] for u in per_core), default=0.0),
    }
    if mirror_usage:
        usage["mirror_usage"] = {
            "cpu_s": round(mirror_usage[0].cpu_s, 2),
            "peak_rss_mb": round(mirror_usage[0].peak_rss_mb, 1),
        }
    return usage


def _throughput(
    expected: int,
    producer: WorkloadProducer,
    journal: TopicCollector,
    redis_watcher: RedisOutcomeWatcher | None,
    error: str | None,
) -> dict[str, Any]:
    """Requests per second end to end (outcome in Redis, or in the journal without a mirror),
    and the core's alone (until the last journal event was readable)."""
    end_to_end = redis_watcher.arrivals if redis_watcher else None
    last_arrival = (
        end_to_end[-1][2] if end_to_end else (journal.arrivals[-1].at if journal.arrivals else None)
    )
    complete = error is None
    figures: dict[str, Any] = {
        "requests": expected,
        "journal_events": len(journal.arrivals),
        "redis_outcomes": redis_watcher.seen if redis_watcher else None,
        "complete": complete,
        "produce_s": (
            round(producer.finished_at - producer.started_at, 2) if producer.finished_at else None
        ),
        "elapsed_s": None,
        "requests_per_s": None,
    }
    if complete and last_arrival is not None:
        elapsed = last_arrival - producer.started_at
        figures["elapsed_s"] = round(elapsed, 2)
        figures["requests_per_s"] = round(expected / elapsed, 1)
    journal_done = journal.arrivals[-1].at if complete and journal.arrivals else None
    figures["journal_requests_per_s"] = (
        round(expected / (journal_done - producer.started_at), 1) if journal_done else None
    )
    return figures


def _cpu_per_request(report: dict[str, Any], expected: int) -> dict[str, Any]:
    """CPU µs per request of the core processors together, and of the mirror, over the same
    window: from the first request produced to the last outcome seen (start-up excluded)."""
    if not report["complete"]:
        return {"core_cpu_us_per_request": None, "mirror_cpu_us_per_request": None}
    mirror = report.get("mirror_usage")
    return {
        "core_cpu_us_per_request": round(report["processor_cpu_s"] * 1e6 / expected, 1),
        "mirror_cpu_us_per_request": (
            round(mirror["cpu_s"] * 1e6 / expected, 1) if mirror else None
        ),
    }


def _freshness(
    workload: Workload,
    events: list[LedgerEvent],
    journal: TopicCollector,
    producer: WorkloadProducer,
    redis_watcher: RedisOutcomeWatcher | None,
) -> dict[str, Any]:
    """Request sent -> outcome readable: in the journal, and in Redis when a mirror ran."""
    # One SendTimes per path: it pairs repeated request ids with their sends in order, and
    # consumes the pairs it hands out.
    journal_times = [
        (event.account_id, event.request.request_id, arrival.at)
        for event, arrival in zip(events, journal.arrivals, strict=True)
    ]
    journal_sent = SendTimes(workload.records, producer.sent_at)
    in_journal = freshness_report(journal_sent.latencies_ms(journal_times))
    in_redis = in_journal
    if redis_watcher is not None:
        redis_sent = SendTimes(workload.records, producer.sent_at)
        in_redis = freshness_report(redis_sent.latencies_ms(redis_watcher.arrivals))
    return {"journal_freshness": in_journal, "freshness": in_redis}
