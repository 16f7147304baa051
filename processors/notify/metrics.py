"""The notifier's Prometheus metrics: what reached each partner and what was dead-lettered."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERED = Counter(
    "ledger_notify_deliveries_total", "Journal events a partner acknowledged", ["partner"]
)
# Counted once the dead letters' transaction committed: an aborted batch comes again.
DEAD_LETTERS = Counter(
    "ledger_notify_dead_letters_total",
    "Events written to the partner DLQ after their retries ran out",
    ["partner"],
)
