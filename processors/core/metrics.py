"""Prometheus metrics of the core, fed once per committed batch (not per record).

Names follow Prometheus conventions: `_total` counters, `_seconds` histograms, base units.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from processors.core.batch import BatchResult

REQUESTS = Counter(
    "ledger_core_requests_total",
    "Requests decided by the core, by operation, status and reason",
    ["operation", "status", "reason"],
)
FORWARDED = Counter(
    "ledger_core_forwarded_total", "Records forwarded to the partition that owns their account"
)
SENT_HOME = Counter(
    "ledger_core_sent_home_total",
    "Requests for accounts homed in another region, sent to the outbox for their home",
)
DEAD_LETTERS = Counter("ledger_core_dead_letters_total", "Records sent to the requests DLQ")
TIMERS = Counter("ledger_core_timers_fired_total", "Lot expiries and hold timeouts applied")
BATCH_RECORDS = Histogram(
    "ledger_core_batch_records",
    "Input records per committed transaction",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
COMMIT_SECONDS = Histogram(
    "ledger_core_commit_seconds",
    "Produce + send offsets + commit of one batch transaction",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ABORTS = Counter("ledger_core_transaction_aborts_total", "Batch transactions aborted")
RESTARTS = Counter("ledger_core_session_restarts_total", "Producer+consumer sessions torn down")
RESTORE_SECONDS = Histogram(
    "ledger_core_restore_seconds",
    "Time to restore newly assigned partitions from the changelog",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
ACCOUNTS = Gauge("ledger_core_accounts", "Accounts held in memory by this process")
LAG = Gauge(
    "ledger_core_consumer_lag_records",
    "Requests not yet consumed, per owned input topic and partition",
    ["topic", "partition"],
)

CLOCK_HELD_BACK = Gauge(
    "ledger_core_clock_held_back_ms",
    "How far the wall clock is ahead of the batch clock, which it may not outrun (0: in step)",
)


def record_batch(result: BatchResult, records: int, commit_seconds: float) -> None:
    for (operation, status, reason), count in result.outcomes.items():
        REQUESTS.labels(operation, status, reason).inc(count)
    if result.forwarded:
        FORWARDED.inc(result.forwarded)
    if result.sent_home:
        SENT_HOME.inc(result.sent_home)
    if result.dead_lettered:
        DEAD_LETTERS.inc(result.dead_lettered)
    if result.timers_fired:
        TIMERS.inc(result.timers_fired)
    BATCH_RECORDS.observe(records)
    COMMIT_SECONDS.observe(commit_seconds)
