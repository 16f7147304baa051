"""Reading compacted state and the journal to their end: restore on assignment, rebuild.

A restore trusts only a settled changelog partition. The previous owner's transaction is
committed (its offsets are stable) before the next owner restores, but its commit markers
reach the changelog's partitions a moment later: until they do, the last stable offset stops
short of that transaction's states, and a read "to the end" would miss them. So restoring
first waits until the partition's last stable offset equals its high watermark
(`wait_settled`): no transaction of anyone is open on it.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec
from confluent_kafka import (
    IsolationLevel,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from ledger.model import AccountState, Receipt, Reversible
from processors.core.diskstore import DiskPartitionStore, StoreFormatError
from processors.core.store import PartitionStore, StateStore
from processors.reading import ReadTimeout, read_to_end, watermarks
from schemas.contracts import WireContracts, split_memory_key
from settings import Settings

log = logging.getLogger(__name__)

SETTLED_POLL_S = 0.05
# A restore writes to a disk store in chunks of this many accounts (memory stays bounded).
RESTORE_SEAL_ACCOUNTS = 10_000
# Compaction drops a tombstone delete.retention.ms after it was written (a day by default):
# a store checkpointed longer ago than that might miss a deletion the changelog no longer
# shows, so it is restored from scratch instead. Half a day leaves a margin.
CHECKPOINT_TRUSTED_MS = 12 * 3600 * 1000
LIST_OFFSETS_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RestoreReport:
    partitions: tuple[int, ...]
    records: int
    accounts: int
    seconds: float


class EndOffsets(Protocol):
    def ends(self, topic: str, partitions: Iterable[int]) -> dict[int, tuple[int, int]]:
        """partition -> (last stable offset, high watermark)"""


class BrokerEndOffsets:
    """Both ends as the broker reports them (ListOffsets, latest, in each isolation level)."""

    def __init__(self, settings: Settings) -> None:
        self.admin = AdminClient(settings.kafka_config())

    def ends(self, topic: str, partitions: Iterable[int]) -> dict[int, tuple[int, int]]:
        wanted = list(partitions)
        stable = self._latest(topic, wanted, IsolationLevel.READ_COMMITTED)
        high = self._latest(topic, wanted, IsolationLevel.READ_UNCOMMITTED)
        return {p: (stable[p], high[p]) for p in wanted}

    def _latest(self, topic: str, partitions: list[int], level: IsolationLevel) -> dict[int, int]:
        futures = self.admin.list_offsets(
            {TopicPartition(topic, p): OffsetSpec.latest() for p in partitions},  # type: ignore[no-untyped-call]
            isolation_level=level,
            request_timeout=LIST_OFFSETS_TIMEOUT_S,
        )
        return {tp.partition: future.result().offset for tp, future in futures.items()}


def wait_settled(
    source: EndOffsets, topic: str, partitions: Iterable[int], timeout_s: float
) -> None:
    """Return once no transaction is open on any of `partitions` (LSO == HW).

    Raises ReadTimeout when one stays open longer than `timeout_s` (a transaction the broker
    has not aborted yet lives at most transaction.timeout.ms).
    """
    wanted = list(partitions)
    deadline = time.monotonic() + timeout_s
    while True:
        open_ = {p: ends for p, ends in source.ends(topic, wanted).items() if ends[0] != ends[1]}
        if not open_:
            return
        if time.monotonic() > deadline:
            raise ReadTimeout(
                f"{topic} partitions {sorted(open_)} still have an open transaction after "
                f"{timeout_s:.0f} s (last stable offset, high watermark: {open_})"
            )
        time.sleep(SETTLED_POLL_S)


States = dict[int, dict[bytes, AccountState]]
"""partition -> account key -> state"""

Changes = dict[int, dict[bytes, AccountState | None]]
"""partition -> account key -> its state now, None when its state was deleted"""

Starts = Mapping[str, Mapping[int, int]]
"""changelog topic -> partition -> first offset to read"""

Base = Callable[[int, bytes], "AccountState | None"]
"""(partition, account key) -> the state held before the records read"""

_MISSING = object()


def read_states(
    settings: Settings, contracts: WireContracts, partitions: Iterable[int], timeout_s: float
) -> tuple[States, int]:
    """Every account's state on `partitions`, assembled from the state changelog and the
    receipts and reversal records of the accounts (one record each, tombstones removing
    them); returns the states and how many records were read."""
    changes, records = read_changes(settings, contracts, partitions, timeout_s)
    states: States = {
        p: {key: state for key, state in accounts.items() if state is not None}
        for p, accounts in changes.items()
    }
    return states, records


def read_changes(
    settings: Settings,
    contracts: WireContracts,
    partitions: Iterable[int],
    timeout_s: float,
    starts: Starts | None = None,
    base: Base | None = None,
) -> tuple[Changes, int]:
    """The accounts the three changelog topics change from `starts` (the beginning by default)
    to their end, applied on top of `base` (nothing by default): a restore from scratch, or
    the tail after a checkpoint. Returns the changed accounts and how many records were read."""
    wanted = list(partitions)
    topics = settings.topics
    first = starts or {}
    state_records: dict[int, dict[bytes, AccountState | None]] = {p: {} for p in wanted}
    receipts: dict[tuple[int, bytes], list[tuple[str, Receipt | None]]] = {}
    reversibles: dict[tuple[int, bytes], list[tuple[str, Reversible | None]]] = {}

    def load_state(partition: int, key: bytes, value: bytes | None) -> None:
        state_records[partition][key] = contracts.decode_state(value) if value else None

    def load_receipt(partition: int, key: bytes, value: bytes | None) -> None:
        account, request_id = split_memory_key(key)
        receipt = contracts.decode_receipt(value)[2] if value else None
        receipts.setdefault((partition, account), []).append((request_id, receipt))

    def load_reversible(partition: int, key: bytes, value: bytes | None) -> None:
        account, request_id = split_memory_key(key)
        reversible = contracts.decode_reversible(value)[2] if value else None
        reversibles.setdefault((partition, account), []).append((request_id, reversible))

    records = 0
    for topic, handle in (
        (topics.state_changelog, load_state),
        (topics.state_receipts, load_receipt),
        (topics.state_reversibles, load_reversible),
    ):
        records += read_to_end(settings, topic, wanted, handle, timeout_s, first.get(topic))
    changes: Changes = {p: {} for p in wanted}
    touched = {(p, key) for p, accounts in state_records.items() for key in accounts}
    for partition, key in touched | receipts.keys() | reversibles.keys():
        before = base(partition, key) if base is not None else None
        record = state_records[partition].get(key, _MISSING)
        if record is None:
            changes[partition][key] = None
            continue
        current = before if record is _MISSING else record
        if not isinstance(current, AccountState):
            continue  # memory of an account without a state: nothing to attach it to
        # A state written by an earlier version holds its memory itself: keep it too.
        kept_receipts = {**current.receipts, **(before.receipts if before else {})}
        for request_id, receipt in receipts.get((partition, key), ()):
            kept_receipts.pop(request_id, None)  # re-remembered: goes last, as evolve does
            if receipt is not None:
                kept_receipts[request_id] = receipt
        kept_reversibles = {**current.reversibles, **(before.reversibles if before else {})}
        for request_id, reversible in reversibles.get((partition, key), ()):
            if reversible is None:
                kept_reversibles.pop(request_id, None)
            else:
                kept_reversibles[request_id] = reversible
        changes[partition][key] = msgspec.structs.replace(
            current, receipts=kept_receipts, reversibles=kept_reversibles
        )
    return changes, records


def restore_partitions(
    settings: Settings,
    contracts: WireContracts,
    stores: Mapping[int, StateStore],
    timeout_s: float,
    end_offsets: EndOffsets | None = None,
) -> RestoreReport:
    """Bring `stores` up to the end of their changelog partitions, once they are settled
    (module docstring): from their checkpoint when it is usable, from the beginning otherwise
    (a store whose checkpoint is ahead of the changelog, behind what the changelog still
    holds, or older than CHECKPOINT_TRUSTED_MS is wiped first). Each store ends with a
    checkpoint at the changelog's end.

    Callers make sure the previous owner's transaction is over first (see loop.py: committed
    offsets are fetched with require_stable before restoring).
    """
    started = time.monotonic()
    settled = end_offsets or BrokerEndOffsets(settings)
    topics = settings.topics
    changelog = (topics.state_changelog, topics.state_receipts, topics.state_reversibles)
    for topic in changelog:
        wait_settled(settled, topic, stores, timeout_s)
    marks = {topic: watermarks(settings, topic, stores, timeout_s) for topic in changelog}
    starts: dict[str, dict[int, int]] = {topic: {} for topic in changelog}
    wiped = []
    now_ms = time.time_ns() // 1_000_000
    for partition, store in stores.items():
        checkpoint = store.checkpoint()
        at_ms = store.checkpointed_at_ms()
        if (
            checkpoint
            and at_ms is not None
            and now_ms - at_ms < CHECKPOINT_TRUSTED_MS
            and all(
                marks[t][partition][0] <= checkpoint.get(t, -1) <= marks[t][partition][1]
                for t in changelog
            )
        ):
            for topic in changelog:
                starts[topic][partition] = checkpoint[topic]
        elif checkpoint or len(store):
            wiped.append(partition)
            store.wipe()
    if wiped:
        log.warning(
            "state of partitions %s does not match the changelog: restoring it from scratch",
            wiped,
        )
    changes, records = read_changes(
        settings, contracts, stores, timeout_s, starts, lambda p, key: stores[p].get(key)
    )
    for partition, accounts in changes.items():
        store = stores[partition]
        for loaded, (key, state) in enumerate(accounts.items(), 1):
            store.load(key, state)
            if loaded % RESTORE_SEAL_ACCOUNTS == 0:
                store.seal()  # no checkpoint yet: an interrupted restore is not trusted
        store.seal({topic: marks[topic][partition][1] for topic in changelog})
    return RestoreReport(
        partitions=tuple(sorted(stores)),
        records=records,
        accounts=sum(len(store) for store in stores.values()),
        seconds=time.monotonic() - started,
    )


def owned(partitions: Iterable[int]) -> dict[int, PartitionStore]:
    """Memory stores for `partitions`."""
    return {p: PartitionStore(p) for p in partitions}


def open_stores(
    settings: Settings, partitions: Iterable[int], instance_id: str
) -> dict[int, StateStore]:
    """The stores of `partitions`: on disk under LEDGER_STATE_DIR/<instance id>/ when it is
    set (a store written in another format is wiped and restored), in memory otherwise."""
    if settings.state_dir is None:
        return dict(owned(partitions))
    root = Path(settings.state_dir) / instance_id
    stores: dict[int, StateStore] = {}
    for partition in partitions:
        path = root / f"{settings.topics.state_changelog}-{partition}"
        try:
            stores[partition] = DiskPartitionStore(partition, path)
        except StoreFormatError as exc:
            log.warning("%s: restoring it from scratch", exc)
            shutil.rmtree(path)
            stores[partition] = DiskPartitionStore(partition, path)
    return stores
