"""What a notifier batch leaves behind, committed atomically: its dead letters and its offsets.

Deliveries are HTTP calls and cannot be part of a Kafka transaction, so they are at least once
(the event id lets a partner drop repeats). What goes back into Kafka can be exactly once: the
dead letters of a batch and the consumer offsets that move past it are written in one
transaction, begun only after every delivery of the batch is over so the transaction stays
short whatever the partner's latency. A crash before the commit leaves neither: the batch is
read again and its failures are dead-lettered once, not once per attempt of the notifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from processors.produce import produce

KAFKA_CALL_TIMEOUT_S = 30.0

Headers = list[tuple[str, str | bytes | None]]

# Headers of a dead letter: whose it is, the event, how often it was tried and why it failed.
DLQ_PARTNER_HEADER = "ledger.notify.partner"
DLQ_EVENT_ID_HEADER = "ledger.notify.event-id"
DLQ_ATTEMPTS_HEADER = "ledger.notify.attempts"
DLQ_REASON_HEADER = "ledger.notify.reason"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    headers: Headers


def dead_letter(
    message: Message, partner: str, event_id: str, attempts: int, why: str
) -> DeadLetter:
    """The journal record as it was, with who could not take it, how often we tried and why."""
    return DeadLetter(
        message.key(),
        message.value(),
        [
            (DLQ_PARTNER_HEADER, partner.encode()),
            (DLQ_EVENT_ID_HEADER, event_id.encode()),
            (DLQ_ATTEMPTS_HEADER, str(attempts).encode()),
            (DLQ_REASON_HEADER, why.encode()[:1000]),
        ],
    )


def kept(message: Message) -> DeadLetter:
    """A dead letter written back as it is (another partner's, or not retried this run)."""
    headers = message.headers() or []
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
    return DeadLetter(message.key(), message.value(), pairs)


def next_offsets(messages: list[Message]) -> list[TopicPartition]:
    """The offset after the last record of each partition in the batch."""
    after: dict[tuple[str, int], int] = {}
    for message in messages:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None or offset < 0:
            continue
        key = (topic, partition)
        after[key] = max(after.get(key, 0), offset + 1)
    return [TopicPartition(t, p, o) for (t, p), o in sorted(after.items())]


def commit(
    producer: Producer,
    consumer: Consumer,
    dlq_topic: str,
    letters: list[DeadLetter],
    offsets: list[TopicPartition],
) -> None:
    """One transaction: the dead letters, then the offsets. Raises `KafkaException` when it
    could not commit; an abortable transaction is aborted first, so the caller only has to
    read the batch again with a fresh consumer."""
    if not letters and not offsets:
        return
    producer.begin_transaction()
    try:
        for letter in letters:
            _produce(producer, dlq_topic, letter)
        if offsets:
            producer.send_offsets_to_transaction(
                offsets, consumer.consumer_group_metadata(), KAFKA_CALL_TIMEOUT_S
            )
        producer.commit_transaction(KAFKA_CALL_TIMEOUT_S)
    except KafkaException as exc:
        error: KafkaError = exc.args[0]
        if error.txn_requires_abort():
            producer.abort_transaction(KAFKA_CALL_TIMEOUT_S)
        raise


def _produce(producer: Producer, topic: str, letter: DeadLetter) -> None:
    produce(producer, topic, letter.value, letter.key, headers=letter.headers)
