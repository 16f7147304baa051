"""A partner's notifier: its own consumer group on the journal, so partners never wait on
each other and the journal never waits on a partner.

Each partner reads the journal (read_committed: aborted transactions are never notified)
with the consumer group `<notify group>.<partner>`. For every batch: decode, keep the events
the subscription wants, deliver them in journal order, send those that exhausted their
attempts to the notifications DLQ (flushed before going on), and only then commit the
batch's offsets. A crash anywhere replays the batch: delivery is at least once, and every
POST carries the event id (`Ledger-Event-Id`) for the partner to drop duplicates.

The bound on waiting work is the batch (`queue_max` records); the backlog beyond it stays in
Kafka, where it costs nothing and survives restarts.
"""

from __future__ import annotations

import logging
import random
import socket
import threading

import httpx
from confluent_kafka import Consumer, KafkaError, Message, Producer

from ledger.settings import Settings
from processors.notify.delivery import Deliverer
from processors.notify.payload import event_payload
from processors.notify.subscriptions import Subscription
from schemas.contracts import WireContracts
from schemas.exceptions import UndecodableMessage

log = logging.getLogger("ledger.notify")
POLL_S = 0.5


RESTART_PAUSE_S = 2.0


class DeadLetterFailed(Exception):
    """The notifications DLQ did not take a record; the batch must not be committed."""


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
        self._dlq_failures = 0

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
        producer = Producer(self.settings.kafka_config({"enable.idempotence": True}))
        consumer.subscribe([self.settings.topics.events])
        rng = random.Random()
        with httpx.Client() as client:
            deliverer = Deliverer(client, self.stop, rng)
            try:
                while not self.stop.is_set():
                    batch = consumer.consume(self.subscription.queue_max, timeout=POLL_S)
                    if not batch:
                        continue
                    if not self._handle(batch, deliverer, producer):
                        break  # stopping mid-batch: leave the offsets, the batch comes again
                    consumer.commit(asynchronous=False)
            finally:
                consumer.close()
                producer.flush(30)

    def _handle(self, batch: list[Message], deliverer: Deliverer, producer: Producer) -> bool:
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
                return False
            if result.delivered:
                self.delivered += 1
                continue
            self._dead_letter(producer, message, event.event_id, result.attempts, result.describe())
        if producer.flush(30) > 0 or self._dlq_failures:
            raise DeadLetterFailed(f"{self._dlq_failures} dead letters not written")
        return True

    def _dead_letter(
        self, producer: Producer, message: Message, event_id: str, attempts: int, why: str
    ) -> None:
        log.warning(
            "notification dead-lettered after %d attempts: %s",
            attempts,
            why,
            extra={"partner": self.subscription.partner, "event_id": event_id},
        )
        producer.produce(
            self.settings.topics.notifications_dlq,
            message.value(),
            message.key(),
            headers=[
                ("ledger.notify.partner", self.subscription.partner.encode()),
                ("ledger.notify.event-id", event_id.encode()),
                ("ledger.notify.attempts", str(attempts).encode()),
                ("ledger.notify.reason", why.encode()[:1000]),
            ],
            on_delivery=self._dlq_written,
        )
        self.dead_lettered += 1

    def _dlq_written(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._dlq_failures += 1

    def _where(self, message: Message) -> dict[str, object]:
        return {
            "partner": self.subscription.partner,
            "partition": message.partition(),
            "offset": message.offset(),
        }
