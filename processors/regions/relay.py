"""The outbox relay: requests other regions sent here, into this region's own inputs.

A core that meets a request for an account homed in another region writes it, unchanged, to
its outbox (`rewards.outbox`) with the home's name and the input it came in on (headers
HOME_HEADER, INPUT_HEADER). MirrorMaker 2 copies every region's outbox to every other region
(`eu.rewards.outbox` in us). Here, one confluent-kafka loop reads those copies read_committed
and, in one Kafka transaction per batch with its consumer positions (EOS v2, like the core),
writes each record addressed to this region to the input of the same name, on the partition
that owns its account. The core then decides it as any other request: exactly once, whatever
path it took, because the request id decides (a request that also came in directly is a
DUPLICATE). Records for a third region are passed over: that region has its own copy; one
for no region of the deployment is logged as an error (no relay anywhere takes it).

Records go to the partition that owns their account by the broker's partition count of the
inputs (what the topics were made with), and the copies' records below the committed
positions are deleted (processors/purge.py): an INSTALL or a cross-region leg, exempt from
the date checks like every leg, can then never be relayed twice, whatever happens to the
relay's offsets.

A failure aborts the transaction and ends the process (its supervisor starts it again, from
the last committed positions): the relay holds nothing worth saving in memory.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message

from processors.batching import take_batch
from processors.headers import header
from processors.produce import transactional_producer
from processors.purge import ConsumedPurger
from processors.topics import shared_partition_count
from schemas.contracts import HOME_HEADER, INPUT_HEADER
from schemas.partitioning import partition_for
from settings import Settings

log = logging.getLogger("ledger.relay")

BATCH_MAX = 2_000
GATHER_S = 0.005
COMMIT_TIMEOUT_S = 30.0


@dataclass
class RelayStats:
    relayed: int = 0
    elsewhere: int = 0
    homeless: int = 0
    """Addressed to no region of the deployment (a bug or tampering: logged)."""
    refused: int = 0


def relay_group_id(settings: Settings) -> str:
    return f"{settings.topic_prefix}outbox-relay"


class OutboxRelay:
    def __init__(self, settings: Settings, instance_id: str) -> None:
        self.settings = settings
        self.here = settings.region
        self.regions = frozenset(settings.region_names)
        topics = settings.topics
        self.partitions = shared_partition_count(settings, topics.inputs)
        # The inputs a forwarded request may be written to, by name after the prefix.
        self.inputs = {name[len(topics.prefix) :]: name for name in topics.inputs}
        self.sources = [f"{source}.{topics.outbox}" for source in settings.other_regions]
        self.stats = RelayStats()
        self.purger = ConsumedPurger(settings, self.sources)
        self.committed: dict[tuple[str, int], int] = {}
        self.consumer = Consumer(
            settings.kafka_config(
                {
                    "group.id": relay_group_id(settings),
                    "group.instance.id": f"relay-{instance_id}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "session.timeout.ms": settings.session_timeout_ms,
                }
            )
        )
        self.producer = transactional_producer(
            settings,
            f"{relay_group_id(settings)}.{instance_id}",
            {"linger.ms": 5, "partitioner": "murmur2_random"},
        )
        self.consumer.subscribe(self.sources)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.run_once()
        finally:
            self.consumer.close()

    def run_once(self) -> None:
        messages = [m for m in take_batch(self.consumer, BATCH_MAX, GATHER_S) if self._usable(m)]
        if not messages:
            self.purger.purge(self.committed)
            return
        self.producer.begin_transaction()
        try:
            for message in messages:
                self._relay(message)
            positions = self.consumer.position(self.consumer.assignment())
            self.producer.send_offsets_to_transaction(
                positions, self.consumer.consumer_group_metadata(), COMMIT_TIMEOUT_S
            )
            self.producer.commit_transaction(COMMIT_TIMEOUT_S)
        except KafkaException:
            self.producer.abort_transaction(COMMIT_TIMEOUT_S)
            raise
        self.committed.update(
            ((tp.topic, tp.partition), tp.offset) for tp in positions if tp.offset >= 0
        )
        self.purger.purge(self.committed)

    def _usable(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return True
        if error.fatal():
            raise KafkaException(error)
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer error: %s", error)
        return False

    def _relay(self, message: Message) -> None:
        home = (header(message, HOME_HEADER) or b"").decode(errors="replace")
        if home != self.here:
            if home in self.regions:
                self.stats.elsewhere += 1
                return
            self.stats.homeless += 1
            log.error(
                "outbox record at %s/%s/%s is for %r, no region of this deployment: not relayed",
                message.topic(),
                message.partition(),
                message.offset(),
                home,
            )
            return
        role = (header(message, INPUT_HEADER) or b"").decode(errors="replace")
        topic = self.inputs.get(role)
        key = message.key()
        if topic is None or not key:
            # Only the cores write the outbox: this is a bug or tampering, never a request.
            self.stats.refused += 1
            log.error(
                "outbox record at %s/%s/%s names no input of ours (%r): not relayed",
                message.topic(),
                message.partition(),
                message.offset(),
                role,
            )
            return
        self.producer.produce(
            topic,
            message.value(),
            key,
            partition=partition_for(key, self.partitions),
            headers=message.headers(),
        )
        self.stats.relayed += 1
