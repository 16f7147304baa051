"""The exactly-once loop of the ledger core (ARCHITECTURE.md §4), on librdkafka's EOS v2.

The core consumes three input topics, co-partitioned with the journal and the changelog: the
public requests, the operator requests and the internal requests (transfer legs). The topic a
record was read from is its channel, which decides what it may ask for (routing.channels).
Partition p of every input topic must belong to the same processor, the one holding the state
of partition p: the `range` assignor gives exactly that for topics with equal partition counts
and the same subscribers (Kafka's own co-partitioning), and `_on_assign` refuses anything else.

One turn of `CoreSession.run_once`:

1. Take up to `batch_records_max` records that are there (`take_batch`: an idle core waits
   up to `batch_time_max_ms` for the first, never for more). Rebalance callbacks
   run inside this call only, so they always fall between two transactions: revocation never
   meets an open transaction, and an assigned partition is restored before its first record.
2. Apply the batch in memory (`BatchApplier`) at the batch clock (`BatchClock`): decode,
   route, decide, timers, changelog.
3. `begin_transaction`, produce every output record (events, forwarded requests, transfer
   legs, DLQ records, the latest state of each touched account).
4. `send_offsets_to_transaction` with the next offset of every owned input partition and the
   consumer's group metadata: a zombie whose generation is stale is refused here.
5. `commit_transaction`; seal the stores (forget their undo). From time to time, delete the
   internal topic's records below the committed offsets (`ConsumedPurger`): a leg is then
   gone once applied, so no offset reset can ever deliver it twice.

On an abortable error: abort, roll the stores back, seek each partition back to the batch's
first offset. On anything else (fatal error, fencing, a commit or abort that fails or times
out) the session raises `SessionFailed`; `CoreProcessor` tears the producer and consumer
down and starts a new session, whose partitions are restored from the changelog. The new
producer reuses the transactional.id, so `init_transactions` finishes or aborts whatever the
old one left open (librdkafka has no KIP-890 part 2 yet; recreating it is the defence).

Assignment: committed offsets are fetched first (librdkafka asks for *stable* offsets under
read_committed, so this waits while a previous owner's transaction is still pending), and
only then is the changelog read, to its end. Every transaction carries offsets for every
owned partition, even when only timers wrote to it, so that wait covers every changelog
write.

Long on purpose: the numbered commit sequence (begin, produce, send offsets, commit; abort and
rewind) reads in one module.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from ledger.programs import Programs, ProgramSource
from processors.batching import take_batch
from processors.core import metrics
from processors.core.batch import BatchApplier
from processors.core.changelog import open_stores, restore_partitions
from processors.core.checkpoints import Checkpoints, DeliveryCallback
from processors.core.clock import BatchClock, Clock, wall_clock_ms
from processors.core.crashpoints import CrashPoints
from processors.core.homing import Directory
from processors.core.intake import SessionFailed, intake
from processors.core.store import StateStore
from processors.produce import ProduceQueueFull, produce, transactional_producer
from processors.purge import ConsumedPurger
from processors.reading import ReadTimeout
from processors.regions.directory import DirectoryView
from processors.topics import TopicLayoutError, shared_partition_count
from schemas.contracts import WireContracts
from settings import Settings
from settings.regions import load_homes

log = logging.getLogger(__name__)

KAFKA_CALL_TIMEOUT_S = 60.0
RESTORE_TIMEOUT_S = 600.0
RESTART_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
COMMIT_LATENCIES_KEPT = 10_000
OFFSET_INVALID = -1001
GC_THRESHOLD_ALLOCATIONS = 50_000
LAG_INTERVAL_S = 1.0
MAX_POLL_INTERVAL_MS = 900_000
PRODUCER_MARGIN_BYTES = 100_000


@dataclass
class CoreStats:
    """Counters a benchmark or the status line reads; metrics export builds on them."""

    batches: int = 0
    records_in: int = 0
    decided: int = 0
    forwarded: int = 0
    dead_lettered: int = 0
    timers_fired: int = 0
    aborts: int = 0
    restarts: int = 0
    restores: int = 0
    restore_seconds: float = 0.0
    commit_latencies_ms: deque[float] = field(
        default_factory=lambda: deque(maxlen=COMMIT_LATENCIES_KEPT)
    )


class CoreSession:
    """One producer + one consumer, from creation to teardown."""

    def __init__(
        self,
        settings: Settings,
        programs: Programs | ProgramSource,
        contracts: WireContracts,
        instance_id: str,
        stats: CoreStats,
        clock: Clock = wall_clock_ms,
        directory: Directory | None = None,
    ) -> None:
        self.settings = settings
        self.inputs = settings.topics.inputs
        self.contracts = contracts
        self.stats = stats
        self.clock = BatchClock(clock)
        self.instance_id = instance_id
        self.crash = CrashPoints(settings.crash_at)
        self.stores: dict[int, StateStore] = {}
        topics = settings.topics
        self.changelog_topics = (
            topics.state_changelog,
            topics.state_receipts,
            topics.state_reversibles,
        )
        self.positions: dict[tuple[str, int], int] = {}
        self._lag_observed_at = 0.0
        self.partitions = _partition_count(settings)
        self.applier = BatchApplier(
            settings.topics,
            self.partitions,
            programs,
            contracts,
            self.stores,
            settings.record_bytes_max,
            load_homes(settings.region, settings.region_names, settings.placement_config)
            if settings.region
            else None,
            directory,
        )
        self.producer = transactional_producer(
            settings,
            f"{settings.core_group_id}.{instance_id}",
            {
                "linger.ms": 5,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 1_000_000,
                "partitioner": "murmur2_random",
                # Above what the batch applier lets through (it checks every record).
                "message.max.bytes": settings.record_bytes_max + PRODUCER_MARGIN_BYTES,
            },
        )
        self.consumer = Consumer(
            settings.kafka_config(
                {
                    "group.id": settings.core_group_id,
                    "group.instance.id": instance_id,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    # Co-partitions the input topics (module docstring); eager, so a rebalance
                    # revokes everything between two transactions and restores what returns.
                    "partition.assignment.strategy": "range",
                    "session.timeout.ms": settings.session_timeout_ms,
                    # Restoring a large partition happens inside poll (the assignment
                    # callback); it must not count as a processor that stopped polling.
                    "max.poll.interval.ms": MAX_POLL_INTERVAL_MS,
                }
            )
        )
        self.consumer.subscribe(
            list(self.inputs),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        self.purger = ConsumedPurger(settings, [settings.topics.internal_requests])

    # --- rebalance callbacks (run inside consume(), between transactions) ------------------

    def _on_assign(self, consumer: Consumer, assigned: list[TopicPartition]) -> None:
        if not assigned:
            return
        partitions = co_partitioned(assigned, self.inputs)
        committed = consumer.committed(assigned, timeout=KAFKA_CALL_TIMEOUT_S)
        stores = open_stores(self.settings, partitions, self.instance_id)
        try:
            report = restore_partitions(self.settings, self.contracts, stores, RESTORE_TIMEOUT_S)
        except BaseException:
            for store in stores.values():
                store.close()  # a disk store stays locked while open: the next session opens it
            raise
        self.stores.update(stores)
        for tp in committed:
            self.positions[(tp.topic, tp.partition)] = tp.offset
        # Restored states live as long as the partition is owned and hold no reference
        # cycles: move them out of the cyclic collector's sight so its passes stay short.
        gc.collect()
        gc.freeze()
        self.stats.restores += 1
        self.stats.restore_seconds += report.seconds
        metrics.RESTORE_SECONDS.observe(report.seconds)
        metrics.ACCOUNTS.set(self.accounts())
        log.info(
            "assigned partitions %s: restored %d accounts from %d changelog records in %.2f s",
            list(report.partitions),
            report.accounts,
            report.records,
            report.seconds,
        )

    def _on_revoke(self, consumer: Consumer, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            store = self.stores.pop(tp.partition, None)
            if store is not None:
                store.close()
            self.positions.pop((tp.topic, tp.partition), None)
            with contextlib.suppress(KeyError):  # never observed: nothing to remove
                metrics.LAG.remove(tp.topic, str(tp.partition))
        metrics.ACCOUNTS.set(self.accounts())
        if revoked:
            log.info("revoked partitions %s", sorted(tp.partition for tp in revoked))

    # --- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.run_once()

    def run_once(self) -> None:
        messages = take_batch(
            self.consumer, self.settings.batch_records_max, self.settings.batch_time_max_ms / 1000
        )
        records = intake(messages, self.stores, self.positions)
        batch_start: dict[tuple[str, int], int] = {}
        for record in records:
            batch_start.setdefault((record.topic, record.partition), record.offset)
        result = self.applier.apply(records, self.clock.now_ms())
        if not records and not result.records:
            self._observe_lag()
            self.purger.purge(self.positions)
            return
        started = time.perf_counter()
        try:
            self.producer.begin_transaction()
            crash = self.crash
            crash.begin()
            crash.reached("begun")
            checkpoints = Checkpoints(self.changelog_topics, result.records)
            for index, out in enumerate(result.records):
                self._produce(
                    out.topic,
                    out.partition,
                    out.key,
                    out.value,
                    out.headers,
                    checkpoints.watch(index),
                )
            crash.reached("produced")
            next_positions = dict(self.positions)
            for record in records:
                next_positions[(record.topic, record.partition)] = record.offset + 1
            offsets = [
                TopicPartition(topic, partition, offset)
                for (topic, partition), offset in sorted(next_positions.items())
                if offset >= 0 and partition in self.stores
            ]
            if offsets:
                self.producer.send_offsets_to_transaction(
                    offsets, self.consumer.consumer_group_metadata(), KAFKA_CALL_TIMEOUT_S
                )
            crash.reached("offsets-sent")
            self.producer.commit_transaction(KAFKA_CALL_TIMEOUT_S)
            crash.reached("committed")
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.txn_requires_abort():
                self._abort(batch_start, error)
                return
            raise SessionFailed(f"transaction failed: {error}") from exc
        for partition, store in self.stores.items():
            store.seal(checkpoints.of(partition))
        crash.reached("sealed")
        self.applier.committed(result)
        self.positions = next_positions
        self.purger.purge(self.positions)
        commit_seconds = time.perf_counter() - started
        metrics.record_batch(result, len(records), commit_seconds)
        self._observe_lag()
        stats = self.stats
        stats.commit_latencies_ms.append(commit_seconds * 1000)
        stats.batches += 1
        stats.records_in += len(records)
        stats.decided += result.decided
        stats.forwarded += result.forwarded
        stats.dead_lettered += result.dead_lettered
        stats.timers_fired += result.timers_fired

    def _observe_lag(self) -> None:
        """Lag per owned partition from the last fetched high watermark (no broker call)."""
        now = time.monotonic()
        if now - self._lag_observed_at < LAG_INTERVAL_S:
            return
        self._lag_observed_at = now
        for (topic, partition), position in self.positions.items():
            if position < 0:
                continue
            watermarks = self.consumer.get_watermark_offsets(
                TopicPartition(topic, partition), cached=True
            )
            if watermarks is not None and watermarks[1] >= 0:
                metrics.LAG.labels(topic, str(partition)).set(max(watermarks[1] - position, 0))
        metrics.ACCOUNTS.set(self.accounts())

    def _produce(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, str | bytes | None]] | None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        try:
            produce(self.producer, topic, value, key, partition, headers, on_delivery=on_delivery)
        except ProduceQueueFull as full:
            raise SessionFailed(str(full)) from full
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE:
                # The batch applier checks every record against record_bytes_max, so
                # this is a configuration that lets it through: say which.
                raise SessionFailed(
                    f"a {len(value or b'')}-byte record to {topic} is too large for the "
                    "producer: LEDGER_RECORD_BYTES_MAX must stay below message.max.bytes"
                ) from exc
            raise

    def _abort(self, batch_start: dict[tuple[str, int], int], cause: KafkaError) -> None:
        log.warning("aborting batch: %s", cause)
        try:
            self.producer.abort_transaction(KAFKA_CALL_TIMEOUT_S)
        except KafkaException as exc:
            raise SessionFailed(f"abort failed: {exc.args[0]}") from exc
        for store in self.stores.values():
            store.rollback()
        for (topic, partition), offset in batch_start.items():
            if partition in self.stores:
                self.consumer.seek(TopicPartition(topic, partition, offset))
        self.stats.aborts += 1
        metrics.ABORTS.inc()

    def close(self) -> None:
        """Leave cleanly: no transaction is open between turns of the loop."""
        try:
            self.consumer.close()  # revokes what it owns: _on_revoke closes those stores
        except (KafkaException, RuntimeError) as exc:
            log.warning("consumer close: %s", exc)
        for store in self.stores.values():
            store.close()
        try:
            self.producer.flush(10)
        except KafkaException as exc:
            # A fenced or fatally failed producer raises here; what it still held belongs to a
            # transaction that can never commit, and the next session must start regardless.
            log.warning("producer close: %s", exc)
        # The consumer holds this session's rebalance callbacks, so the two keep each other
        # alive, and a C object does not take part in cycle collection: let go of the clients
        # (and of the state) here, or every failed session keeps its threads and sockets.
        self.stores.clear()
        del self.consumer, self.producer, self.applier, self.purger

    def accounts(self) -> int:
        return sum(len(store) for store in self.stores.values())


class CoreProcessor:
    """Runs sessions until stopped, replacing a failed session with a new one."""

    def __init__(
        self,
        settings: Settings,
        programs: Programs | ProgramSource,
        contracts: WireContracts,
        instance_id: str,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self.settings = settings
        self.programs = programs
        self.contracts = contracts
        self.instance_id = instance_id
        self.clock = clock
        self.stats = CoreStats()
        self.session: CoreSession | None = None

    def run(self, stop: threading.Event) -> None:
        # Account states are immutable trees without cycles; the default thresholds would
        # run the cyclic collector every few hundred allocations over millions of objects.
        gc.set_threshold(GC_THRESHOLD_ALLOCATIONS, 50, 100)
        # Where moved accounts live, read for as long as the processor runs (every session).
        directory = DirectoryView(self.settings) if self.settings.region else None
        if directory is not None:
            directory.start()
        try:
            self._run_sessions(stop, directory)
        finally:
            if directory is not None:
                directory.close()

    def _run_sessions(self, stop: threading.Event, directory: DirectoryView | None) -> None:
        failures = 0
        while not stop.is_set():
            try:
                self.session = CoreSession(
                    self.settings,
                    self.programs,
                    self.contracts,
                    self.instance_id,
                    self.stats,
                    self.clock,
                    directory,
                )
                self.session.run(stop)
            except (SessionFailed, KafkaException, ReadTimeout) as error:
                self.stats.restarts += 1
                metrics.RESTARTS.inc()
                backoff = RESTART_BACKOFF_S[min(failures, len(RESTART_BACKOFF_S) - 1)]
                failures += 1
                # The text, not the exception: a handler that keeps records (a buffer, a test's
                # capture) would keep its traceback, and with it the failed session, alive.
                log.error("session failed (%s); new session in %.1f s", str(error), backoff)
                stop.wait(backoff)
            finally:
                if self.session is not None:
                    self.session.close()
                    self.session = None
                    # Restored states were frozen out of the collector's sight (_on_assign);
                    # what of them is garbage now must be collectable again.
                    gc.unfreeze()
                    gc.collect()


def co_partitioned(assigned: list[TopicPartition], inputs: tuple[str, ...]) -> list[int]:
    """The state partitions an assignment gives: those whose every input topic came with it.

    Raises SessionFailed when an input partition comes without its siblings (a member running
    another assignor or subscription, e.g. mid-upgrade): two processors would then decide
    requests of one account against two copies of its state.
    """
    by_partition: dict[int, set[str]] = {}
    for tp in assigned:
        by_partition.setdefault(tp.partition, set()).add(tp.topic)
    incomplete = {p: sorted(t) for p, t in by_partition.items() if t != set(inputs)}
    if incomplete:
        raise SessionFailed(
            f"assignment is not co-partitioned over {list(inputs)}: {incomplete}; every core "
            "process must subscribe to the same topics with the range assignor"
        )
    return sorted(by_partition)


def _partition_count(settings: Settings) -> int:
    """Partitions of the requests topic; journal and changelog must have as many."""
    names = settings.topics
    try:
        return shared_partition_count(
            settings, (*names.inputs, names.events, names.state_changelog)
        )
    except TopicLayoutError as error:
        raise SessionFailed(str(error)) from error
