"""Our partition function agrees with librdkafka's Java-compatible murmur2 partitioner; the
default CRC32 partitioner disagrees for some keys, which is why the core forwards."""

from __future__ import annotations

from confluent_kafka import Message, Producer

from schemas.partitioning import partition_for
from settings import Settings

KEYS = [f"acme:customer-{n}".encode() for n in range(200)]


def _delivered_partitions(settings: Settings, partitioner: str | None) -> dict[bytes, int]:
    config = settings.kafka_config()
    if partitioner:
        config["partitioner"] = partitioner
    producer = Producer(config)
    delivered: dict[bytes, int] = {}

    def remember(error: object, message: Message) -> None:
        assert error is None
        delivered[message.key() or b""] = message.partition() or 0

    for key in KEYS:
        producer.produce(settings.topics.requests, b"x", key, on_delivery=remember)
    assert producer.flush(30) == 0
    return delivered


def test_partition_for_matches_librdkafka_murmur2(topics: Settings) -> None:
    delivered = _delivered_partitions(topics, "murmur2_random")
    assert delivered == {key: partition_for(key, topics.partitions) for key in KEYS}


def test_the_default_partitioner_scatters_accounts_elsewhere(topics: Settings) -> None:
    delivered = _delivered_partitions(topics, None)
    elsewhere = [k for k in KEYS if delivered[k] != partition_for(k, topics.partitions)]
    assert elsewhere, "CRC32 and murmur2 agreed on every key: the forwarding path is untested"
