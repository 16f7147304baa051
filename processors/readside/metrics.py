"""Prometheus metrics of the read side, served by `ledger mirror` on LEDGER_MIRROR_METRICS_PORT
(the audit's by `ledger auditor`, on LEDGER_AUDITOR_METRICS_PORT).

Freshness is measured from the request's `requested_at_ms` (stamped by the gateway or the
producer when it sent the request) to the moment its event is visible in Redis, so it spans
the whole write path: produce, core transaction, journal, mirror.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("ledger_mirror_events_total", "Journal events mirrored to Redis")
FRESHNESS = Histogram(
    "ledger_mirror_freshness_seconds",
    "Request sent -> its outcome visible in Redis",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UNDECODABLE = Counter("ledger_mirror_undecodable_total", "Journal events that did not decode")
RETRIES = Counter(
    "ledger_mirror_retries_total",
    "Batches tried again because Redis (or a heal) failed; a batch is never skipped",
)
COPY_LAG = Histogram(
    "ledger_mirror_copy_lag_seconds",
    "Event decided in its home region -> visible in this region's Redis (replication lag)",
    ["source"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
AUDIT_OK = Gauge("ledger_audit_ok", "1 when the last audit found no discrepancy, else 0")
AUDIT_PROBLEMS = Gauge("ledger_audit_problems", "Discrepancies found by the last audit")
AUDIT_TIMESTAMP = Gauge("ledger_audit_last_run_timestamp_seconds", "When the last audit ran")
AUDIT_FAILURES = Counter(
    "ledger_audit_failures_total", "Audits that could not run (Kafka or Redis unreachable)"
)


def observe_visible(requested_at_ms: list[int]) -> None:
    """Record events that just became visible; their requests were sent at these times."""
    now_ms = time.time_ns() // 1_000_000
    for sent in requested_at_ms:
        if sent > 0:
            FRESHNESS.observe(max(now_ms - sent, 0) / 1000)
    EVENTS.inc(len(requested_at_ms))


def observe_copied(source: str, processed_at_ms: list[int], now_ms: int) -> None:
    """Events of `source` region's journal that just became visible here."""
    histogram = COPY_LAG.labels(source)
    for decided in processed_at_ms:
        histogram.observe(max(now_ms - decided, 0) / 1000)


def observe_audit(ok: bool, problems: int) -> None:
    AUDIT_OK.set(1 if ok else 0)
    AUDIT_PROBLEMS.set(problems)
    AUDIT_TIMESTAMP.set(time.time())
