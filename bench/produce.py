"""Producing a workload as a client would: idempotent, acks=all, paced or at full speed.

Each record's send time is kept (monotonic seconds, indexed like the workload's records):
freshness is measured from the moment a client handed the request to Kafka.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from confluent_kafka import Producer

from bench.errors import BenchError
from bench.kit.workload import BenchRecord
from processors.produce import produce as produce_record
from settings import Settings

FLUSH_TIMEOUT_S = 120.0
PACING_STEP = 100  # records between two looks at the clock when paced


class ProduceFailed(BenchError):
    """The broker did not acknowledge every record."""


class WorkloadProducer(threading.Thread):
    def __init__(
        self, settings: Settings, topic: str, records: Sequence[BenchRecord], rate: float | None
    ) -> None:
        super().__init__(name="bench-producer", daemon=True)
        self.topic = topic
        self.records = records
        self.rate = rate
        self.sent_at = [0.0] * len(records)
        self.sent = 0
        self.started_at = 0.0
        self.finished_at = 0.0
        self.error: str | None = None
        self.producer = Producer(
            settings.kafka_config(
                {
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "compression.type": "lz4",
                    "queue.buffering.max.messages": 1_000_000,
                }
            )
        )

    def run(self) -> None:
        try:
            self._produce_all()
        except Exception as error:  # reported by the bench, which then stops the run
            self.error = repr(error)

    def _produce_all(self) -> None:
        poll = self.producer.poll
        self.started_at = started = time.monotonic()
        for n, record in enumerate(self.records):
            if self.rate and n % PACING_STEP == 0:
                ahead = n / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            self.sent_at[n] = time.monotonic()
            produce_record(self.producer, self.topic, record.value, record.key, record.partition)
            self.sent = n + 1
            poll(0)
        remaining = self.producer.flush(FLUSH_TIMEOUT_S)
        self.finished_at = time.monotonic()
        if remaining:
            raise ProduceFailed(f"{remaining} records not acknowledged by the broker")
