"""Writing program changes: one writer at a time, each change checked against the latest
version, so no two changes can both claim the same version.

Every writer (each gateway process, each core seeding the programs file) uses one
transactional id. A change begins with `init_transactions`, which fences every earlier
writer with that id and completes (aborts) whatever it left open; only then does the writer
read the topic to its end, build the change on the latest versions, and commit. A writer
fenced between its read and its commit fails with `ProgramWriteConflict` instead of
committing: its change was built on versions that may no longer be the latest, and the
caller asks again. A change, however long it takes, is therefore always the next version.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from ledger.program_changes import ChangeKind, ProgramCatalogue, ProgramVersion, first_version
from schemas.program_feed import CATCH_UP_TIMEOUT_S, ProgramFeed, ProgramFeedError
from schemas.program_records import encode_program_version

log = logging.getLogger("ledger.programs")

TRANSACTION_TIMEOUT_S = 30.0
ABORT_TIMEOUT_S = 10.0
SEED_ATTEMPTS = 6

Change = Callable[[ProgramCatalogue], ProgramVersion | None]
"""Builds the next version from the programs as they are; raises a ConfigError to refuse, or
answers None when there is nothing left to write."""


class ProgramWriteConflict(RuntimeError):
    """Another writer took over while this change was being made; nothing was written."""


class ProgramWriter:
    def __init__(
        self, kafka_config: Mapping[str, Any], feed: ProgramFeed, transactional_id: str
    ) -> None:
        self.feed = feed
        self._config = {
            **kafka_config,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": int(TRANSACTION_TIMEOUT_S * 1000),
        }
        self._lock = threading.Lock()

    def write(self, change: Change) -> ProgramVersion | None:
        """Make one change and return its version, visible to this process's feed (None:
        the change found nothing to write)."""
        with self._lock:
            self.feed.catch_up()
            # Nothing to write (a retry, a seed already there): no need to fence anyone.
            if change(self.feed.catalogue) is None:
                return None
            producer = Producer(self._config)
            begun = False
            try:
                producer.init_transactions(TRANSACTION_TIMEOUT_S)
                self.feed.catch_up()  # every earlier writer is fenced: this is the latest
                version = change(self.feed.catalogue)
                if version is None:
                    return None
                key, value = encode_program_version(version)
                producer.begin_transaction()
                begun = True
                producer.produce(self.feed.topic, value, key, partition=0)
                producer.commit_transaction(TRANSACTION_TIMEOUT_S)
                begun = False
            except BaseException as failure:
                if begun:  # never leave it open: readers would wait for its timeout
                    with contextlib.suppress(KafkaException):
                        producer.abort_transaction(ABORT_TIMEOUT_S)
                if isinstance(failure, KafkaException):
                    _raise_conflict_if_fenced(failure)
                raise
            finally:
                producer.flush(1.0)
            try:
                self.feed.catch_up()
            except ProgramFeedError as slow:  # committed: the answer is the version all the same
                log.warning(
                    "program %s version %d written, not read back yet: %s",
                    version.name,
                    version.version,
                    slow,
                )
            return version

    def seed(self, tables: Mapping[str, Mapping[str, Any]], by: str) -> list[str]:
        """Write version 1 of every program of the programs file that the topic lacks (a new
        installation); the names written. A program the topic has is left as it is there:
        after the first start, programs change through the admin API, and a file that says
        otherwise is named in a warning."""
        programs = self.feed.catch_up()
        for name, table in tables.items():
            live = self.feed.catalogue.latest(name)
            if live is not None and dict(live.definition) != dict(table):
                log.warning(
                    "%s in the programs file differs from its live version %d, which is the one "
                    "used: programs change through the admin API once the ledger has started "
                    "(`ledger programs show %s`)",
                    name,
                    live.version,
                    name,
                )
        missing = [name for name in tables if name not in programs]
        for name in missing:
            for attempt in range(SEED_ATTEMPTS):
                try:
                    self.write(_seeding(name, tables[name], by))
                    break
                except ProgramWriteConflict:  # another process seeding at the same moment
                    time.sleep(random.uniform(0.1, 0.2) * 2**attempt)
            else:
                raise ProgramWriteConflict(f"could not seed program {name}")
        return missing


def _raise_conflict_if_fenced(error: KafkaException) -> None:
    kafka_error = error.args[0] if error.args else None
    if isinstance(kafka_error, KafkaError) and kafka_error.code() in (
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
    ):
        raise ProgramWriteConflict("another change was made at the same time") from error


def _seeding(name: str, table: Mapping[str, Any], by: str) -> Change:
    def change(catalogue: ProgramCatalogue) -> ProgramVersion | None:
        if catalogue.latest(name) is not None:  # another process seeded it first
            return None
        return first_version(name, table, ChangeKind.SEED, int(time.time() * 1000), by)

    return change


def follow_programs(
    kafka_config: Mapping[str, Any],
    topic: str,
    writer_id: str,
    seed: Mapping[str, Mapping[str, Any]],
    by: str,
    catch_up_timeout_s: float = CATCH_UP_TIMEOUT_S,
) -> tuple[ProgramFeed, ProgramWriter]:
    """A started feed of the programs topic, once it holds every program of `seed` (the
    programs file), and a writer for changes."""
    feed = ProgramFeed(kafka_config, topic, catch_up_timeout_s).start()
    writer = ProgramWriter(kafka_config, feed, writer_id)
    try:
        for name in writer.seed(seed, by):
            log.info("program %s seeded from the programs file", name)
    except BaseException:
        feed.close()
        raise
    return feed, writer
