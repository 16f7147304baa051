"""A periodic status line of the core: throughput, commit latency, accounts, restarts."""

from __future__ import annotations

import logging
import statistics
import threading
import time

from processors.core.loop import CoreProcessor

log = logging.getLogger("ledger.core")


class StatusReporter(threading.Thread):
    def __init__(self, processor: CoreProcessor, interval_s: float, stop: threading.Event):
        super().__init__(name="core-status", daemon=True)
        self.processor = processor
        self.interval_s = interval_s
        self.stop = stop

    def run(self) -> None:
        if self.interval_s <= 0:
            return
        stats = self.processor.stats
        last_records, last_time = 0, time.monotonic()
        while not self.stop.wait(self.interval_s):
            now = time.monotonic()
            rate = (stats.records_in - last_records) / (now - last_time)
            last_records, last_time = stats.records_in, now
            latencies = list(stats.commit_latencies_ms)[-1000:]
            p50 = statistics.median(latencies) if latencies else 0.0
            session = self.processor.session
            accounts = session.accounts() if session else 0
            log.info(
                "%.0f records/s, %d batches, commit p50 %.1f ms, %d accounts, "
                "%d dead letters, %d aborts, %d restarts",
                rate,
                stats.batches,
                p50,
                accounts,
                stats.dead_lettered,
                stats.aborts,
                stats.restarts,
                extra={
                    "records_per_s": round(rate),
                    "batches": stats.batches,
                    "commit_p50_ms": round(p50, 1),
                    "accounts": accounts,
                    "dead_letters": stats.dead_lettered,
                    "aborts": stats.aborts,
                    "restarts": stats.restarts,
                },
            )
