"""Deliver again what the notifications DLQ holds, once a partner is back.

Reads the DLQ with its own consumer group, so each dead letter is redelivered once per run of
`ledger notify redeliver`; what fails again is written back to the DLQ (with the attempts
so far) before the offsets move on, so nothing is lost either way.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import httpx
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from ledger.settings import Settings
from processors.core.changelog import READ_POLL_S
from processors.notify.delivery import Deliverer
from processors.notify.payload import event_payload
from processors.notify.subscriptions import Subscription
from schemas.contracts import WireContracts

PARTNER_HEADER = "ledger.notify.partner"


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
            }
        )
    )
    producer = Producer(settings.kafka_config({"enable.idempotence": True}))
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
        with httpx.Client() as client:
            deliverer = Deliverer(client, stop, random.Random())
            while any(positions[p] < end for p, end in ends.items()):
                for message in consumer.consume(100, timeout=READ_POLL_S):
                    error = message.error()
                    if error is not None:
                        raise RuntimeError(f"reading {topic}: {error}")
                    partition, offset = message.partition() or 0, message.offset() or 0
                    if offset >= ends[partition]:
                        continue
                    _redeliver_one(
                        message,
                        by_partner,
                        partner,
                        deliverer,
                        producer,
                        settings,
                        contracts,
                        report,
                    )
                    positions[partition] = offset + 1
                if producer.flush(30) > 0:
                    raise RuntimeError("dead letters could not be written back")
                consumer.commit(
                    offsets=[TopicPartition(topic, p, o) for p, o in positions.items()],
                    asynchronous=False,
                )
    finally:
        consumer.close()
    return report


def _redeliver_one(
    message: Message,
    by_partner: dict[str, Subscription],
    partner: str | None,
    deliverer: Deliverer,
    producer: Producer,
    settings: Settings,
    contracts: WireContracts,
    report: RedeliveryReport,
) -> None:
    headers = dict(message.headers() or [])
    raw_name = headers.get(PARTNER_HEADER) or b""
    name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
    subscription = by_partner.get(name)
    if subscription is None or (partner is not None and name != partner):
        # Not ours to retry this time: keep it for a later run.
        report.skipped += 1
        producer.produce(
            settings.topics.notifications_dlq,
            message.value(),
            message.key(),
            headers=message.headers(),
        )
        return
    event = contracts.decode_event(message.value() or b"")
    result = deliverer.deliver(subscription, event.event_id, event_payload(event))
    if result.delivered:
        report.delivered += 1
        return
    report.failed_again += 1
    producer.produce(
        settings.topics.notifications_dlq,
        message.value(),
        message.key(),
        headers=[
            (PARTNER_HEADER, name.encode()),
            ("ledger.notify.event-id", event.event_id.encode()),
            ("ledger.notify.attempts", str(result.attempts).encode()),
            ("ledger.notify.reason", result.describe().encode()[:1000]),
        ],
    )
