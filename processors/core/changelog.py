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
from collections.abc import Iterable, Mapping
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
RESTORE_SEAL_ACCOUNTS = 2_000
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

Starts = Mapping[str, Mapping[int, int]]
"""changelog topic -> partition -> first offset to read"""


ReceiptOps = list[tuple[str, "Receipt | None"]]
ReversibleOps = list[tuple[str, "Reversible | None"]]


def with_receipts(
    state: AccountState, kept: Mapping[str, Receipt], ops: ReceiptOps
) -> AccountState:
    """`state` remembering `kept`, then each receipt record of `ops` in order (None: forgotten;
    one remembered again goes last, as evolve orders them)."""
    receipts = dict(kept)
    for request_id, receipt in ops:
        receipts.pop(request_id, None)
        if receipt is not None:
            receipts[request_id] = receipt
    return msgspec.structs.replace(state, receipts=receipts)


def with_reversibles(
    state: AccountState, kept: Mapping[str, Reversible], ops: ReversibleOps
) -> AccountState:
    """`state` holding `kept`, then each reversal record of `ops` in order (None: forgotten)."""
    reversibles = dict(kept)
    for request_id, reversible in ops:
        if reversible is None:
            reversibles.pop(request_id, None)
        else:
            reversibles[request_id] = reversible
    return msgspec.structs.replace(state, reversibles=reversibles)


def read_states(
    settings: Settings, contracts: WireContracts, partitions: Iterable[int], timeout_s: float
) -> tuple[States, int]:
    """Every account's state on `partitions`, assembled from the state changelog and the
    receipts and reversal records of the accounts (one record each, tombstones removing
    them); returns the states and how many records were read. All in memory: for the
    rebuild and the audit, which compare whole partitions (a restore streams, below)."""
    wanted = list(partitions)
    topics = settings.topics
    states: States = {p: {} for p in wanted}
    receipts: dict[bytes, ReceiptOps] = {}
    reversibles: dict[bytes, ReversibleOps] = {}

    def load_state(partition: int, key: bytes, value: bytes | None) -> None:
        if value:
            states[partition][key] = contracts.decode_state(value)
        else:
            states[partition].pop(key, None)

    def load_receipt(_partition: int, key: bytes, value: bytes | None) -> None:
        account, request_id = split_memory_key(key)
        receipt = contracts.decode_receipt(value)[2] if value else None
        receipts.setdefault(account, []).append((request_id, receipt))

    def load_reversible(_partition: int, key: bytes, value: bytes | None) -> None:
        account, request_id = split_memory_key(key)
        reversible = contracts.decode_reversible(value)[2] if value else None
        reversibles.setdefault(account, []).append((request_id, reversible))

    records = read_to_end(settings, topics.state_changelog, wanted, load_state, timeout_s)
    records += read_to_end(settings, topics.state_receipts, wanted, load_receipt, timeout_s)
    records += read_to_end(settings, topics.state_reversibles, wanted, load_reversible, timeout_s)
    for accounts in states.values():
        for key, state in accounts.items():
            # A state written by an earlier version holds its memory itself: keep it too.
            with_memory = with_receipts(state, state.receipts, receipts.get(key, []))
            accounts[key] = with_reversibles(
                with_memory, state.reversibles, reversibles.get(key, [])
            )
    return states, records


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
    records = StreamingRestore(contracts, stores).read(settings, starts, timeout_s)
    for partition, store in stores.items():
        store.seal({topic: marks[topic][partition][1] for topic in changelog})
    return RestoreReport(
        partitions=tuple(sorted(stores)),
        records=records,
        accounts=sum(len(store) for store in stores.values()),
        seconds=time.monotonic() - started,
    )


class StreamingRestore:
    """Applies the changelog to the stores as it is read, so a restore holds at most
    RESTORE_SEAL_ACCOUNTS accounts' changes in memory, not the partition (a disk store may
    hold tens of millions of accounts). State records first, applied as they come on top of
    the memory the store already holds; then receipt and reversal records, gathered per
    account and applied a chunk at a time (a busy account has thousands: one copy of its
    memory per chunk, not per record). Stores are sealed without a checkpoint every chunk:
    an interrupted restore is not trusted (no checkpoint, accounts present: wiped next time).

    Same result as `read_states` (the in-memory read of rebuild and audit), except for states
    written by an earlier version (which held
    their memory themselves) that a later state record of the same account replaced within
    the records read: their memory is kept beside the later one's."""

    def __init__(self, contracts: WireContracts, stores: Mapping[int, StateStore]) -> None:
        self.contracts = contracts
        self.stores = stores
        self.loaded = dict.fromkeys(stores, 0)
        self.receipts: dict[tuple[int, bytes], ReceiptOps] = {}
        self.reversibles: dict[tuple[int, bytes], ReversibleOps] = {}
        self.buffered = 0

    def read(self, settings: Settings, starts: Starts, timeout_s: float) -> int:
        topics = settings.topics
        wanted = list(self.stores)
        records = 0
        for topic, handle in (
            (topics.state_changelog, self._state),
            (topics.state_receipts, self._receipt),
            (topics.state_reversibles, self._reversible),
        ):
            records += read_to_end(settings, topic, wanted, handle, timeout_s, starts.get(topic))
            self._flush()
        return records

    def _state(self, partition: int, key: bytes, value: bytes | None) -> None:
        store = self.stores[partition]
        if not value:
            store.load(key, None)
        else:
            state = self.contracts.decode_state(value)
            before = store.peek(key)
            if before is not None and (before.receipts or before.reversibles):
                state = msgspec.structs.replace(
                    state,
                    receipts={**state.receipts, **before.receipts},
                    reversibles={**state.reversibles, **before.reversibles},
                )
            store.load(key, state)
        self._loaded(partition)

    def _receipt(self, partition: int, key: bytes, value: bytes | None) -> None:
        account, request_id = split_memory_key(key)
        receipt = self.contracts.decode_receipt(value)[2] if value else None
        self.receipts.setdefault((partition, account), []).append((request_id, receipt))
        self._buffered()

    def _reversible(self, partition: int, key: bytes, value: bytes | None) -> None:
        account, request_id = split_memory_key(key)
        reversible = self.contracts.decode_reversible(value)[2] if value else None
        self.reversibles.setdefault((partition, account), []).append((request_id, reversible))
        self._buffered()

    def _buffered(self) -> None:
        self.buffered += 1
        if self.buffered >= RESTORE_SEAL_ACCOUNTS:
            self._flush()

    def _flush(self) -> None:
        for (partition, account), receipt_ops in self.receipts.items():
            state = self.stores[partition].peek(account)
            if state is not None:  # memory of an account without a state: nothing to keep
                self.stores[partition].load(
                    account, with_receipts(state, state.receipts, receipt_ops)
                )
                self._loaded(partition)
        for (partition, account), reversible_ops in self.reversibles.items():
            state = self.stores[partition].peek(account)
            if state is not None:
                self.stores[partition].load(
                    account, with_reversibles(state, state.reversibles, reversible_ops)
                )
                self._loaded(partition)
        self.receipts.clear()
        self.reversibles.clear()
        self.buffered = 0

    def _loaded(self, partition: int) -> None:
        self.loaded[partition] += 1
        if self.loaded[partition] % RESTORE_SEAL_ACCOUNTS == 0:
            self.stores[partition].seal()


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
    wanted = list(partitions)
    cache = max(settings.state_cache_accounts // max(len(wanted), 1), 1)
    stores: dict[int, StateStore] = {}
    for partition in wanted:
        path = root / f"{settings.topics.state_changelog}-{partition}"
        try:
            stores[partition] = DiskPartitionStore(partition, path, cache)
        except StoreFormatError as exc:
            log.warning("%s: restoring it from scratch", exc)
            shutil.rmtree(path)
            stores[partition] = DiskPartitionStore(partition, path, cache)
    return stores
