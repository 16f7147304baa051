"""Following the programs topic: every process that decides or validates requests holds the
programs as the topic says they are now.

A thread reads the topic (read_committed, from its beginning, no consumer group: every
process needs every version) into a `ProgramCatalogue`. A record the catalogue refuses (not
the next version, an invalid definition, not a version at all) is logged with its offset and
counted in `refused`; it changes nothing, and the versions after it are still taken.

`catch_up` answers once everything committed on the topic when it was called has been taken:
the core calls it before rejecting a request as program_unknown or asset_unknown, so a
program or asset created before a request was sent is always known when that request is
decided; the admin API calls it before and after a change.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from ledger.program_changes import ProgramCatalogue
from ledger.programs import Program
from schemas.program_records import (
    ProgramRecordError,
    decode_program_version,
    program_record_key,
)

log = logging.getLogger("ledger.programs")

POLL_S = 0.1
CATCH_UP_TIMEOUT_S = 10.0
END_OFFSET_RETRY_S = 0.2


class ProgramFeedError(RuntimeError):
    """The programs topic could not be read up to its end in time."""


class ProgramFeed:
    def __init__(
        self,
        kafka_config: Mapping[str, Any],
        topic: str,
        catch_up_timeout_s: float = CATCH_UP_TIMEOUT_S,
    ) -> None:
        self.topic = topic
        self.catch_up_timeout_s = catch_up_timeout_s
        self.catalogue = ProgramCatalogue()
        self.refused = 0
        self._partition = TopicPartition(topic, 0)
        config = {
            **kafka_config,
            # Never used to commit: required by the client, unique so no group forms.
            "group.id": f"{topic}-feed-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            # Never jump over versions, whatever happens to the position.
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100,
        }
        self._config = config
        self._consumer = Consumer(config)
        # Asks for the end offset: a query on the reading consumer waits behind its poll.
        self._offsets = Consumer(config)
        self._asking = threading.Lock()
        self._consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        self._position = 0
        self._moved = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def programs(self) -> Mapping[str, Program]:
        return self.catalogue.programs()

    def start(self) -> ProgramFeed:
        """Follow the topic in a daemon thread until `close`."""
        self._thread = threading.Thread(target=self._follow, name="program-feed", daemon=True)
        self._thread.start()
        return self

    def catch_up(self, timeout_s: float | None = None) -> Mapping[str, Program]:
        """The programs once every version committed before this call is taken."""
        timeout_s = self.catch_up_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        end = self._end_offset(timeout_s)
        if self._thread is None:  # no follower: read here
            while self._position < end and time.monotonic() < deadline:
                self._read(POLL_S)
        else:
            with self._moved:
                while self._position < end:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._moved.wait(left)
        if self._position < end:
            raise ProgramFeedError(
                f"{self.topic}: read to offset {self._position} of {end} in {timeout_s:.0f} s"
            )
        return self.programs()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():  # still inside a poll: closing under it would crash
                return
        self._consumer.close()
        self._offsets.close()

    def _end_offset(self, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        with self._asking:
            while True:
                left = max(0.1, deadline - time.monotonic())
                try:
                    _, high = self._offsets.get_watermark_offsets(
                        self._partition, timeout=left, cached=False
                    )
                    return int(high)
                except KafkaException as error:
                    # A client that was never assigned the partition keeps what it last
                    # knew of its leader: after a failover it answers "unknown partition"
                    # for good. A new one asks the cluster afresh.
                    self._offsets.close()
                    self._offsets = Consumer(self._config)
                    if time.monotonic() >= deadline:
                        raise ProgramFeedError(f"{self.topic}: {error}") from error
                    time.sleep(END_OFFSET_RETRY_S)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self._read(POLL_S)
            except Exception:  # a broken follower must be loud, and must keep following
                log.exception("reading %s failed", self.topic)
                self._stop.wait(1.0)

    def _read(self, timeout_s: float) -> None:
        for message in self._consumer.consume(100, timeout_s):
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                continue
            self._take(message.key(), message.value(), message.offset())
        # The position moves past transaction markers too, which no message shows.
        (position,) = self._consumer.position([self._partition])
        with self._moved:
            if position.offset >= 0:
                self._position = max(self._position, position.offset)
            self._moved.notify_all()

    def _take(self, key: bytes | None, value: bytes | None, offset: int | None) -> None:
        try:
            version = decode_program_version(value)
            if key != program_record_key(version.name, version.version):
                raise ProgramRecordError(
                    f"key {key!r} does not name {version.name} version {version.version}"
                )
            self.catalogue.take(version)
        except Exception as refused:  # whatever a record holds, the records after it count
            self.refused += 1
            log.error("refused programs record at %s offset %s: %s", self.topic, offset, refused)
            return
        log.info(
            "program %s version %d (%s by %s)",
            version.name,
            version.version,
            version.change.value,
            version.changed_by,
        )
