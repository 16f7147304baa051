"""Our phase: `ledger core` processes (and `ledger mirror` when it exists) under the workload.

End to end means: from the first request sent until the last outcome is visible, in Redis
when the mirror runs (an outcome message on its channel), else in the journal to a
read_committed consumer. Freshness is measured per request over the same path and labelled
with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.context import BenchContext
from bench.kit.verify import verify_journal
from bench.kit.workload import Workload
from bench.phases import PhaseFailed, Watch, wait_for_outcomes, wait_ready, wait_until
from bench.processes import Usage, ledger_child
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

    report["processor_usage"] = [
        {
            "name": child.name,
            "cpu_s": round(after.cpu_s - before.cpu_s, 2),
            "peak_rss_mb": round(after.peak_rss_mb, 1),
        }
        for child, before, after in zip(
            cores, usage_before or usage_after, usage_after, strict=True
        )
    ]
    report["stopped"] = {
        child.name: {"seconds": child.stop_s, "killed": child.killed} for child in children
    }
    report["processor_cpu_s"] = round(sum(u["cpu_s"] for u in report["processor_usage"]), 2)
    report["processor_peak_rss_mb"] = max(
        (u["peak_rss_mb"] for u in report["processor_usage"]), default=0.0
    )
    if mirror_usage:
        report["mirror_usage"] = {
            "cpu_s": round(mirror_usage[0].cpu_s, 2),
            "peak_rss_mb": round(mirror_usage[0].peak_rss_mb, 1),
        }

    events = [ctx.contracts.decode_event(arrival.value) for arrival in journal.arrivals]
    report["requests"] = expected
    report["journal_events"] = len(events)
    report["redis_outcomes"] = redis_watcher.seen if redis_watcher else None
    end_to_end = redis_watcher.arrivals if redis_watcher else None
    last_arrival = (
        end_to_end[-1][2] if end_to_end else (journal.arrivals[-1].at if journal.arrivals else None)
    )
    report["complete"] = report["error"] is None
    report["produce_s"] = (
        round(producer.finished_at - producer.started_at, 2) if producer.finished_at else None
    )
    if report["complete"] and last_arrival is not None:
        elapsed = last_arrival - producer.started_at
        report["elapsed_s"] = round(elapsed, 2)
        report["requests_per_s"] = round(expected / elapsed, 1)
    else:
        report["elapsed_s"] = report["requests_per_s"] = None
    # The core alone, without the mirror's share: until the last journal event was readable.
    journal_done = journal.arrivals[-1].at if report["complete"] and journal.arrivals else None
    report["journal_requests_per_s"] = (
        round(expected / (journal_done - producer.started_at), 1) if journal_done else None
    )
    report["cpu_ms_per_request"] = (
        round(report["processor_cpu_s"] * 1000 / expected, 3) if report["complete"] else None
    )

    journal_times = [
        (event.account_id, event.request.request_id, arrival.at)
        for event, arrival in zip(events, journal.arrivals, strict=True)
    ]
    report["journal_freshness"] = freshness_report(
        SendTimes(workload.records, producer.sent_at).latencies_ms(journal_times)
    )
    if redis_watcher is not None:
        redis_latencies = SendTimes(workload.records, producer.sent_at).latencies_ms(
            redis_watcher.arrivals
        )
        report["freshness"] = freshness_report(redis_latencies)
    else:
        report["freshness"] = report["journal_freshness"]

    verification = verify_journal(events, workload.model.balances(), workload.expected_outcomes)
    report["balances_verified"] = verification.balances_verified
    report["outcomes_verified"] = verification.outcomes_verified
    report["accounts_checked"] = verification.accounts_checked
    report["outcome_counts"] = verification.outcome_counts
    report["mismatches"] = verification.mismatches
    if report["error"]:
        report["logs"] = {child.name: str(child.log_path) for child in children}
    return OursResult(report, verification.balances)
