"""The directory as one region sees it: its own and every other region's copy, merged.

A thread reads `<prefix>directory` and every `<source>.<prefix>directory` (MirrorMaker 2's
copies) read_committed from the beginning, and keeps each account's entry with the highest
epoch (schemas/directory.py). The core asks it only about accounts it holds no state of: an
account's state says whether it lives here or where it went (ledger/moves.py), so a view a
little behind costs a request one more hop between regions, never a wrong decision.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from confluent_kafka import Consumer, KafkaError

from schemas.directory import DirectoryEntry, DirectoryRecordError, decode_entry
from settings import Settings

log = logging.getLogger(__name__)

POLL_S = 0.5
LOADED_TIMEOUT_S = 30.0


class DirectoryView:
    def __init__(self, settings: Settings) -> None:
        directory = settings.topics.directory
        self.topics = [directory, *(f"{source}.{directory}" for source in settings.other_regions)]
        self._settings = settings
        self._entries: dict[bytes, DirectoryEntry] = {}
        self._stop = threading.Event()
        self._loaded = threading.Event()
        self._thread: threading.Thread | None = None
        self.unreadable = 0
        """Records that are not entries: only the core writes the directory (logged)."""

    def get(self, key: bytes) -> DirectoryEntry | None:
        return self._entries.get(key)

    def note(self, key: bytes, entry: DirectoryEntry) -> None:
        """An entry this region's core has just committed, known before it is read back."""
        known = self._entries.get(key)
        if known is None or known.epoch <= entry.epoch:
            self._entries[key] = entry

    def start(self, timeout_s: float = LOADED_TIMEOUT_S) -> None:
        """Start reading; returns once every directory was read to its end (or `timeout_s`
        passed: the view then fills in as it reads, which only costs hops)."""
        self._thread = threading.Thread(target=self._run, name="directory", daemon=True)
        self._thread.start()
        if not self._loaded.wait(timeout_s):
            log.warning("directory not read to its end in %.0f s; going on", timeout_s)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        consumer = Consumer(
            self._settings.kafka_config(
                {
                    # Its own group, never committed: every start reads everything.
                    "group.id": f"{self._settings.topic_prefix}directory-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "enable.partition.eof": True,
                }
            )
        )
        consumer.subscribe(self.topics)
        at_end: set[tuple[str, int]] = set()
        started = time.monotonic()
        try:
            while not self._stop.is_set():
                message = consumer.poll(POLL_S)
                if not self._loaded.is_set():
                    assigned = {(p.topic, p.partition) for p in consumer.assignment()}
                    if assigned and assigned <= at_end:
                        self._loaded.set()
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add((message.topic() or "", message.partition() or 0))
                    elif time.monotonic() - started > POLL_S:
                        log.warning("directory read: %s", error)
                    continue
                self._take(message.key(), message.value(), message.topic() or "")
        finally:
            consumer.close()

    def _take(self, key: bytes | None, value: bytes | None, topic: str) -> None:
        try:
            if key is None:
                raise DirectoryRecordError("no key")
            entry = decode_entry(value)
        except DirectoryRecordError as error:
            self.unreadable += 1
            log.error("directory record on %s is not an entry: %s", topic, error)
            return
        self.note(key, entry)
