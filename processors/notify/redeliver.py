"""Deliver again what the notifications DLQ holds, once a partner is back.

Reads the DLQ with its own consumer group, so each dead letter is redelivered once per run of
`ledger notify redeliver`; what fails again (or belongs to another partner) is written back to
the DLQ in the same transaction that moves the offsets on, so nothing is lost or doubled
either way.

Long on purpose: `redeliver` is one pass over the dead letters (read, deliver, commit) kept in
one place.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import httpx
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from processors.notify import outbox
from processors.notify.delivery import Deliverer
from processors.notify.outbox import DLQ_PARTNER_HEADER, DeadLetter, dead_letter, kept
from processors.notify.payload import event_payload
from processors.notify.subscriptions import Subscription
from processors.produce import transactional_producer
from processors.reading import READ_POLL_S
from schemas.contracts import WireContracts
from settings import Settings


@dataclass
class RedeliveryReport:
    delivered: int = 0
    failed_again: int = 0
    skipped: int = 0


def redeliver(
    settings: Settings,
    contracts: WireContracts,
    subscriptions: list[Subscription],
    partner: str | None,
) -> RedeliveryReport:
    """Go through the DLQ as it stands now (what this run writes back waits for the next)."""
    by_partner = {s.partner: s for s in subscriptions}
    topic = settings.topics.notifications_dlq
    report = RedeliveryReport()
    consumer = Consumer(
        settings.kafka_config(
            {
                "group.id": f"{settings.notify_group_id}.redeliver",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # Dead letters are written in transactions: skip aborted ones, and learn the
                # end of a partition from the consumer (its last offset may be a commit
                # marker, which no message ever reports).
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            }
        )
    )
    producer = transactional_producer(settings, f"{settings.notify_group_id}.redeliver")
    stop = threading.Event()
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        ends: dict[int, int] = {}
        starts = []
        for tp in consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=30):
            watermarks = consumer.get_watermark_offsets(tp, timeout=30, cached=False)
            low, high = watermarks if watermarks is not None else (0, 0)
            start = tp.offset if tp.offset >= 0 else low
            if start < high:
                ends[tp.partition] = high
                starts.append(TopicPartition(topic, tp.partition, start))
        consumer.assign(starts)
        positions = {tp.partition: tp.offset for tp in starts}
        pending = set(ends)
        with httpx.Client() as client:
            deliverer = Deliverer(client, stop, random.Random())
            while pending:
                letters: list[DeadLetter] = []
                moved = False
                for message in consumer.consume(100, timeout=READ_POLL_S):
                    partition, offset = message.partition() or 0, message.offset() or 0
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            raise RuntimeError(f"reading {topic}: {error}")
                        if offset >= ends[partition]:
                            pending.discard(partition)
                        continue
                    if offset >= ends[partition]:
                        pending.discard(partition)  # written after this run began
                        continue
                    letter = _redeliver_one(
                        message, by_partner, partner, deliverer, contracts, report
                    )
                    if letter is not None:
                        letters.append(letter)
                    positions[partition] = offset + 1
                    moved = True
                if moved:
                    outbox.commit(
                        producer,
                        consumer,
                        topic,
                        letters,
                        [TopicPartition(topic, p, o) for p, o in positions.items()],
                    )
    finally:
        consumer.close()
    return report


def _redeliver_one(
    message: Message,
    by_partner: dict[str, Subscription],
    partner: str | None,
    deliverer: Deliverer,
    contracts: WireContracts,
    report: RedeliveryReport,
) -> DeadLetter | None:
    """Deliver one dead letter again; what must go back to the DLQ, if anything."""
    headers = dict(message.headers() or [])
    raw_name = headers.get(DLQ_PARTNER_HEADER) or b""
    name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
    subscription = by_partner.get(name)
    if subscription is None or (partner is not None and name != partner):
        # Not ours to retry this time: keep it for a later run.
        report.skipped += 1
        return kept(message)
    event = contracts.decode_event(message.value() or b"")
    result = deliverer.deliver(subscription, event.event_id, event_payload(event))
    if result.delivered:
        report.delivered += 1
        return None
    report.failed_again += 1
    return dead_letter(message, name, event.event_id, result.attempts, result.describe())
