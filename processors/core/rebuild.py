"""Rebuild every account's state from the journal alone, and compare it with the changelog.

The journal is the system of record: folding an account's events with `evolve` must give
exactly the state the core wrote to the changelog. `ledger rebuild-state` checks that for
every partition, and with `--write` puts the folded states back into the changelog, which
recovers a lost or damaged changelog (stop the core first: it owns that topic).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger.evolve import evolve
from ledger.idempotency import remembers
from ledger.model import AccountState
from processors.core.changelog import read_states
from processors.produce import produce, transactional_producer
from processors.reading import read_to_end
from schemas.contracts import WireContracts, memory_key
from settings import Settings

READ_TIMEOUT_S = 3600.0
WRITE_TIMEOUT_S = 120.0

States = dict[int, dict[bytes, AccountState]]


@dataclass
class PartitionComparison:
    partition: int
    from_journal: int
    from_changelog: int
    only_in_journal: list[bytes] = field(default_factory=list)
    only_in_changelog: list[bytes] = field(default_factory=list)
    different: list[bytes] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.only_in_journal or self.only_in_changelog or self.different)


def fold_journal(settings: Settings, contracts: WireContracts, partitions: Iterable[int]) -> States:
    states: States = {p: {} for p in partitions}

    def fold(partition: int, key: bytes, value: bytes | None) -> None:
        if not value:
            return
        event = contracts.decode_event(value)
        if remembers(event):  # applied, or a final rejection: what changes a state
            accounts = states[partition]
            accounts[key] = evolve(accounts.get(key), event)

    read_to_end(settings, settings.topics.events, list(states), fold, READ_TIMEOUT_S)
    return states


def read_changelog(
    settings: Settings, contracts: WireContracts, partitions: Iterable[int]
) -> States:
    """The states as the core restores them: changelog, receipts and reversal records."""
    states, _ = read_states(settings, contracts, partitions, READ_TIMEOUT_S)
    return states


def compare(journal: States, changelog: States) -> list[PartitionComparison]:
    report = []
    for partition in sorted(journal):
        folded, stored = journal[partition], changelog.get(partition, {})
        report.append(
            PartitionComparison(
                partition,
                len(folded),
                len(stored),
                sorted(folded.keys() - stored.keys()),
                sorted(stored.keys() - folded.keys()),
                sorted(k for k in folded.keys() & stored.keys() if folded[k] != stored[k]),
            )
        )
    return report


def write_changelog(settings: Settings, contracts: WireContracts, states: States) -> int:
    """Write the folded states (each state record, and its receipts and reversal records one
    per record) in one transaction; returns records written."""
    topics = settings.topics
    producer = transactional_producer(
        settings, f"{settings.core_group_id}.rebuild-{uuid.uuid4().hex[:8]}"
    )
    producer.begin_transaction()
    written = 0

    for partition, accounts in states.items():
        for key, state in accounts.items():
            topic = topics.state_changelog
            value = contracts.encode_state(state, topic, memory=False)
            produce(producer, topic, value, key, partition)
            program, account = state.program, state.account_id
            for request_id, receipt in state.receipts.items():
                value = contracts.encode_receipt(program, account, receipt, topics.state_receipts)
                memory = memory_key(program, account, request_id)
                produce(producer, topics.state_receipts, value, memory, partition)
            for request_id, item in state.reversibles.items():
                value = contracts.encode_reversible(
                    program, account, item, topics.state_reversibles
                )
                memory = memory_key(program, account, request_id)
                produce(producer, topics.state_reversibles, value, memory, partition)
            written += 1 + len(state.receipts) + len(state.reversibles)
    producer.commit_transaction(WRITE_TIMEOUT_S)
    return written
