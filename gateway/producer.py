"""The gateway's one Kafka seam: `RequestProducer.send(topic, key, value)`.

A classic confluent-kafka `Producer` (idempotent, acks=all, murmur2_random so every account
lands on the partition the core expects) served by a poll thread; `send` resolves when the
broker acknowledged the record, so a write is never answered before it is durable. Kafka
TLS/SASL settings come through `Settings.kafka_config` (`KAFKA_CONFIG_*`). ADJUST goes to the
operator topic, every other operation to the public requests topic (`topic_for`): the gateway's
principal needs Write on both, and its `adjustments:write` scope is what stands for the
operator's grant.

    Exception
     └── ProduceError       the record could not be delivered (broker down, queue full, ...)
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from confluent_kafka import KafkaError, Producer

from gateway.errors import GatewayFailure
from gateway.trace import current_trace_id
from ledger.model import ELEVATED_OPERATIONS, Operation
from schemas.contracts import REPLY_TO_HEADER, TRACE_HEADER
from settings import Settings

POLL_INTERVAL_S = 0.05
QUEUE_FULL_RETRY_S = 0.005
QUEUE_FULL_RETRIES_MAX = 200
DELIVERY_TIMEOUT_MS = 10_000
FLUSH_TIMEOUT_S = 10.0


class ProduceError(GatewayFailure):
    pass


class RequestProducer:
    def __init__(self, settings: Settings, reply_to: str) -> None:
        """`reply_to`: this process's reply channel name (gateway/outcomes.py), sent with
        every request so its outcome comes back here only."""
        self.reply_to = reply_to.encode()
        self.topic = settings.topics.requests
        self.operator_topic = settings.topics.operator_requests
        self._producer = Producer(
            settings.kafka_config(
                {
                    "enable.idempotence": True,
                    "acks": "all",
                    "partitioner": "murmur2_random",
                    "linger.ms": 2,
                    "delivery.timeout.ms": DELIVERY_TIMEOUT_MS,
                    "client.id": "ledger-gateway",
                }
            )
        )
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="gateway-producer", daemon=True)
        self._poller.start()

    def topic_for(self, operation: Operation) -> str:
        return self.operator_topic if operation in ELEVATED_OPERATIONS else self.topic

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one record and wait for the broker's acknowledgement."""
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()

        def on_delivery(error: KafkaError | None, _message: Any) -> None:
            if not loop.is_closed():  # a delivery report after shutdown has nobody to tell
                loop.call_soon_threadsafe(_settle, delivered, error)

        trace_id = current_trace_id.get()
        headers: list[tuple[str, str | bytes | None]] = [(REPLY_TO_HEADER, self.reply_to)]
        if trace_id:
            headers.append((TRACE_HEADER, trace_id.encode()))
        for _ in range(QUEUE_FULL_RETRIES_MAX):
            try:
                self._producer.produce(topic, value, key, on_delivery=on_delivery, headers=headers)
                break
            except BufferError:
                await asyncio.sleep(QUEUE_FULL_RETRY_S)
            except Exception as error:  # KafkaException: unknown topic, message too large
                raise ProduceError(str(error)) from error
        else:
            raise ProduceError("the producer queue stayed full")
        await delivered

    def reachable(self, timeout_s: float) -> bool:
        """Whether the brokers answer with the requests topic's metadata (blocking)."""
        try:
            metadata = self._producer.list_topics(self.topic, timeout=timeout_s)
        except Exception:  # KafkaException on timeout: that is the answer
            return False
        topic = metadata.topics.get(self.topic)
        return topic is not None and topic.error is None and bool(topic.partitions)

    def close(self) -> None:
        self._stop.set()
        self._poller.join()
        self._producer.flush(FLUSH_TIMEOUT_S)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(POLL_INTERVAL_S)


def _settle(future: asyncio.Future[None], error: KafkaError | None) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(ProduceError(str(error)))
