"""How fresh the link from another region is, from MirrorMaker 2's own heartbeats.

A copy's model knows when it last took an event, which says nothing once the home's journal
is quiet or MirrorMaker 2 has stopped: the copy then looks as fresh as ever while it is not.
MirrorMaker 2 emits a heartbeat a second on every flow and copies the heartbeats topic like
any other (`eu.heartbeats` in us), each record stamped when it was emitted in the other
region. The newest one read here says how old, at least, what the link delivers is: this
thread follows `<source>.heartbeats` read_committed and writes the newest stamp to Redis
(`copy_link_key`), where the gateway reads it with the copy's own freshness
(gateway/regional.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid

import redis
from confluent_kafka import Consumer, KafkaError

from readmodel.keys import copy_link_key
from settings import Settings

log = logging.getLogger(__name__)

POLL_S = 0.5
WRITE_EVERY_S = 1.0
HEARTBEATS_TOPIC = "heartbeats"
"""MirrorMaker 2's default heartbeats topic; its copy is `<source>.heartbeats`."""


class LinkWatch:
    def __init__(self, settings: Settings, client: redis.Redis, source: str) -> None:
        self.settings = settings
        self.client = client
        self.source = source
        self.topic = f"{source}.{HEARTBEATS_TOPIC}"
        self.key = copy_link_key(settings.journal_copy(source).redis_key_prefix)
        self.newest_ms = 0

    def run(self, stop: threading.Event) -> None:
        consumer = Consumer(
            self.settings.kafka_config(
                {
                    # Its own group, never committed: only the newest heartbeats matter.
                    "group.id": f"{self.settings.topic_prefix}links-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "latest",
                    "isolation.level": "read_committed",
                    "topic.metadata.refresh.interval.ms": 5_000,
                }
            )
        )
        consumer.subscribe([self.topic])
        written_at = 0.0
        try:
            while not stop.is_set():
                message = consumer.poll(POLL_S)
                if message is not None:
                    self._take(message.error(), message.timestamp()[1])
                now = time.monotonic()
                if self.newest_ms and now - written_at >= WRITE_EVERY_S:
                    self._write()
                    written_at = now
        finally:
            consumer.close()

    def _take(self, error: KafkaError | None, stamped_ms: int) -> None:
        if error is not None:
            if error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                log.warning("heartbeats of %s: %s", self.source, error)
            return
        self.newest_ms = max(self.newest_ms, stamped_ms)

    def _write(self) -> None:
        try:
            self.client.set(self.key, json.dumps({"heartbeat_ms": self.newest_ms}))
        except redis.RedisError as error:  # the next heartbeat writes it again
            log.warning("link freshness of %s not written: %s", self.source, error)
