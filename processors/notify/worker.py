"""A partner's notifier: its own consumer group on the journal, so partners never wait on
each other and the journal never waits on a partner.

Each partner reads the journal (read_committed: aborted transactions are never notified)
with the consumer group `<notify group>.<partner>`. For every batch: decode, keep the events
the subscription wants, deliver them in journal order, then write the dead letters of those
that exhausted their attempts and the batch's offsets in one Kafka transaction (`outbox`).
A crash anywhere replays the batch: delivery is at least once, and every POST carries the
event id (`Ledger-Event-Id`) for the partner to drop duplicates; the DLQ gets each failure
exactly once.

The bound on waiting work is the batch (`queue_max` records); the backlog beyond it stays in
Kafka, where it costs nothing and survives restarts.
"""

from __future__ import annotations

import logging
import random
import socket
import threading

import httpx
from confluent_kafka import Consumer, KafkaError, Message

from processors.notify import metrics, outbox
from processors.notify.delivery import Deliverer
from processors.notify.outbox import DeadLetter, dead_letter
from processors.notify.payload import event_payload
from processors.notify.subscriptions import Subscription
from processors.produce import transactional_producer
from schemas.contracts import WireContracts
from schemas.exceptions import UndecodableMessage
from settings import Settings

log = logging.getLogger("ledger.notify")
POLL_S = 0.5
RESTART_PAUSE_S = 2.0


class PartnerWorker(threading.Thread):
    def __init__(
        self,
        settings: Settings,
        subscription: Subscription,
        contracts: WireContracts,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"notify-{subscription.partner}", daemon=True)
        self.settings = settings
        self.subscription = subscription
        self.contracts = contracts
        self.stop = stop
        self.instance = settings.instance_id or socket.gethostname()
        self.delivered = 0
        self.dead_lettered = 0

    def run(self) -> None:
        # A failure costs a pause and a new consumer, which resumes at the last commit.
        while not self.stop.is_set():
            try:
                self._session()
            except Exception:
                log.exception("notifier failed", extra={"partner": self.subscription.partner})
                self.stop.wait(RESTART_PAUSE_S)

    def _session(self) -> None:
        consumer = Consumer(
            self.settings.kafka_config(
                {
                    "group.id": f"{self.settings.notify_group_id}.{self.subscription.partner}",
                    # Static membership: a restarted notifier takes its partitions back at once
                    # instead of waiting for its dead predecessor's session to expire.
                    "group.instance.id": f"{self.subscription.partner}.{self.instance}",
                    "session.timeout.ms": self.settings.session_timeout_ms,
                    "isolation.level": "read_committed",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                }
            )
        )
        group = self.settings.notify_group_id
        producer = transactional_producer(
            self.settings, f"{group}.{self.subscription.partner}.{self.instance}"
        )
        consumer.subscribe([self.settings.topics.events])
        rng = random.Random()
        with httpx.Client() as client:
            deliverer = Deliverer(client, self.stop, rng)
            try:
                while not self.stop.is_set():
                    batch = consumer.consume(self.subscription.queue_max, timeout=POLL_S)
                    if not batch:
                        continue
                    letters = self._deliver(batch, deliverer)
                    if letters is None:
                        break  # stopping mid-batch: leave the offsets, the batch comes again
                    outbox.commit(
                        producer,
                        consumer,
                        self.settings.topics.notifications_dlq,
                        letters,
                        outbox.next_offsets(batch),
                    )
                    self.dead_lettered += len(letters)
                    metrics.DEAD_LETTERS.labels(self.subscription.partner).inc(len(letters))
            finally:
                consumer.close()

    def _deliver(self, batch: list[Message], deliverer: Deliverer) -> list[DeadLetter] | None:
        """Deliver the batch; the dead letters it leaves, or None when stopped part-way."""
        letters: list[DeadLetter] = []
        for message in batch:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("journal read error: %s", error, extra=self._where(message))
                continue
            try:
                event = self.contracts.decode_event(message.value() or b"")
            except UndecodableMessage as exc:
                log.error("undecodable journal record: %r", exc, extra=self._where(message))
                continue
            if not self.subscription.wants(event):
                continue
            result = deliverer.deliver(self.subscription, event.event_id, event_payload(event))
            if self.stop.is_set() and not result.delivered:
                return None
            if result.delivered:
                self.delivered += 1
                metrics.DELIVERED.labels(self.subscription.partner).inc()
                continue
            log.warning(
                "notification dead-lettered after %d attempts: %s",
                result.attempts,
                result.describe(),
                extra={"partner": self.subscription.partner, "event_id": event.event_id},
            )
            letters.append(
                dead_letter(
                    message,
                    self.subscription.partner,
                    event.event_id,
                    result.attempts,
                    result.describe(),
                )
            )
        return letters

    def _where(self, message: Message) -> dict[str, object]:
        return {
            "partner": self.subscription.partner,
            "partition": message.partition(),
            "offset": message.offset(),
        }
