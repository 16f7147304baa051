"""A Faust transport whose worker consumer reads only committed records (read_committed).

Why: the journal is written inside Kafka transactions, and an aborted transaction's events
must never reach Redis. Faust's aiokafka driver creates its worker consumer
`read_uncommitted` unless the app runs in `exactly_once` mode, with no setting to change it
(faust/transport/drivers/aiokafka.py, `AIOKafkaConsumerThread._create_worker_consumer`,
faust-streaming 0.15.3). We do not want exactly_once mode (ARCHITECTURE.md §1), so this
module subclasses the driver at its narrowest point: the consumer thread builds the consumer
exactly as upstream does, then switches its isolation level before it starts.

aiokafka keeps the level in `AIOKafkaConsumer._isolation_level` until `start()` hands it to
its Fetcher (aiokafka 0.14). That attribute is private, so `_read_committed` checks it is
there and fails the worker's start-up loudly if a future aiokafka renames it; the
integration test tests/integration/readside/test_read_committed.py proves the behaviour
with a real aborted transaction.

The transport is registered under the URL scheme `ledger-kafka`, so an app selects it with
`broker="ledger-kafka://host:9092"`; `register_transport()` must run before the app is
created (processors/readside/app.py does it).
"""

from __future__ import annotations

from typing import Any

import aiokafka
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

from processors.errors import ProcessorError

SCHEME = "ledger-kafka"
READ_COMMITTED = "read_committed"


class ReadCommittedTransportError(ProcessorError):
    """The installed aiokafka no longer exposes what this override relies on."""


def _read_committed(consumer: aiokafka.AIOKafkaConsumer) -> aiokafka.AIOKafkaConsumer:
    if not isinstance(getattr(consumer, "_isolation_level", None), str):
        raise ReadCommittedTransportError(
            "aiokafka.AIOKafkaConsumer has no _isolation_level attribute any more; "
            "processors/readside/transport.py must be adapted to this aiokafka version"
        )
    consumer._isolation_level = READ_COMMITTED
    return consumer


class ReadCommittedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        return _read_committed(super()._create_worker_consumer(transport))


class ReadCommittedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ReadCommittedConsumerThread:
        return ReadCommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class ReadCommittedTransport(faust_aiokafka.Transport):
    """aiokafka transport of Faust, except that workers consume read_committed."""

    Consumer = ReadCommittedConsumer


def register_transport() -> None:
    """Make `ledger-kafka://` URLs resolve to `ReadCommittedTransport` (idempotent)."""
    drivers.TRANSPORTS.aliases[SCHEME] = f"{__name__}:ReadCommittedTransport"
