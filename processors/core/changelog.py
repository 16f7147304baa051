"""Reading compacted state and the journal to their end: restore on assignment, rebuild.

A restore trusts only a settled changelog partition. The previous owner's transaction is
committed (its offsets are stable) before the next owner restores, but its commit markers
reach the changelog's partitions a moment later: until they do, the last stable offset stops
short of that transaction's states, and a read "to the end" would miss them. So restoring
first waits until the partition's last stable offset equals its high watermark
(`wait_settled`): no transaction of anyone is open on it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import msgspec
from confluent_kafka import (
    IsolationLevel,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from ledger.model import AccountState, Receipt, Reversible
from processors.core.store import PartitionStore
from processors.reading import ReadTimeout, read_to_end
from schemas.contracts import WireContracts, split_memory_key
from settings import Settings

SETTLED_POLL_S = 0.05
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


def read_states(
    settings: Settings, contracts: WireContracts, partitions: Iterable[int], timeout_s: float
) -> tuple[States, int]:
    """Every account's state on `partitions`, assembled from the state changelog and the
    receipts and reversal records of the accounts (one record each, tombstones removing
    them); returns the states and how many records were read."""
    wanted = list(partitions)
    topics = settings.topics
    states: States = {p: {} for p in wanted}
    receipts: dict[bytes, dict[str, Receipt]] = {}
    reversibles: dict[bytes, dict[str, Reversible]] = {}

    def load_state(partition: int, key: bytes, value: bytes | None) -> None:
        if value:
            states[partition][key] = contracts.decode_state(value)
        else:
            states[partition].pop(key, None)

    def load_receipt(_partition: int, key: bytes, value: bytes | None) -> None:
        account, request_id = split_memory_key(key)
        kept = receipts.setdefault(account, {})
        kept.pop(request_id, None)  # re-remembered: goes last, as evolve orders them
        if value:
            kept[request_id] = contracts.decode_receipt(value)[2]

    def load_reversible(_partition: int, key: bytes, value: bytes | None) -> None:
        account, request_id = split_memory_key(key)
        kept = reversibles.setdefault(account, {})
        if value:
            kept[request_id] = contracts.decode_reversible(value)[2]
        else:
            kept.pop(request_id, None)

    records = read_to_end(settings, topics.state_changelog, wanted, load_state, timeout_s)
    records += read_to_end(settings, topics.state_receipts, wanted, load_receipt, timeout_s)
    records += read_to_end(settings, topics.state_reversibles, wanted, load_reversible, timeout_s)
    for accounts in states.values():
        for key, state in accounts.items():
            # A state written by an earlier version holds its memory itself: keep it too.
            accounts[key] = msgspec.structs.replace(
                state,
                receipts={**state.receipts, **receipts.get(key, {})},
                reversibles={**state.reversibles, **reversibles.get(key, {})},
            )
    return states, records


def restore_partitions(
    settings: Settings,
    contracts: WireContracts,
    stores: Mapping[int, PartitionStore],
    timeout_s: float,
    end_offsets: EndOffsets | None = None,
) -> RestoreReport:
    """Fill `stores` (fresh, empty) from their changelog partitions, up to the end, once
    they are settled (module docstring).

    Callers make sure the previous owner's transaction is over first (see loop.py: committed
    offsets are fetched with require_stable before restoring).
    """
    started = time.monotonic()
    settled = end_offsets or BrokerEndOffsets(settings)
    topics = settings.topics
    for topic in (topics.state_changelog, topics.state_receipts, topics.state_reversibles):
        wait_settled(settled, topic, stores, timeout_s)
    states, records = read_states(settings, contracts, stores, timeout_s)
    for partition, accounts in states.items():
        for key, state in accounts.items():
            stores[partition].load(key, state)
    return RestoreReport(
        partitions=tuple(sorted(stores)),
        records=records,
        accounts=sum(len(store) for store in stores.values()),
        seconds=time.monotonic() - started,
    )


def owned(partitions: Iterable[int]) -> dict[int, PartitionStore]:
    return {p: PartitionStore(p) for p in partitions}
