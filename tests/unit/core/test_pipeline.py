"""The core's batch logic run in-process, without a broker: a workload goes through
`BatchApplier` over in-memory partitions and the journal comes out as the model predicts.
The same checker must also catch a broken journal, so these tests can fail."""

from __future__ import annotations

from collections import defaultdict

import pytest
from msgspec.structs import replace

from bench.kit.hostile import Workload, generate
from bench.kit.hostile_checks import journal_problems
from ledger.model import LedgerEvent, Receipt, Reversible, Status
from processors.core.batch import BatchApplier, InputRecord, OutputRecord
from processors.core.store import PartitionStore
from schemas.contracts import WireContracts, split_memory_key
from settings import TopicNames
from settings.programs import load_programs
from tests.support.processes import ROOT

PARTITIONS = 3
BATCH = 200
NOW_MS = 1_790_000_000_000
TOPICS = TopicNames("unit.")


def run_in_memory(workload: Workload, contracts: WireContracts) -> dict[str, list[OutputRecord]]:
    """Feed the input partitions batch by batch until no partition has anything left."""
    programs = load_programs(ROOT / "config" / "programs.toml")
    stores = {p: PartitionStore(p) for p in range(PARTITIONS)}
    applier = BatchApplier(TOPICS, PARTITIONS, programs, contracts, stores)
    inputs: dict[tuple[str, int], list[InputRecord]] = defaultdict(list)

    def append(topic: str, partition: int, key: bytes | None, value: bytes | None) -> None:
        log = inputs[(topic, partition)]
        log.append(InputRecord(partition, len(log), key, value, topic=topic))

    for item in workload.items:
        append(item.topic or TOPICS.requests, item.partition, item.key, item.value)
    out: dict[str, list[OutputRecord]] = defaultdict(list)
    positions: dict[tuple[str, int], int] = defaultdict(int)
    while any(positions[where] < len(log) for where, log in list(inputs.items())):
        for where in sorted(inputs):
            batch = inputs[where][positions[where] : positions[where] + BATCH]
            positions[where] += len(batch)
            result = applier.apply(batch, NOW_MS)
            for store in stores.values():
                store.seal()
            for record in result.records:
                out[record.topic].append(record)
                if record.topic in TOPICS.inputs:
                    append(record.topic, record.partition, record.key, record.value)
    return out


@pytest.fixture(scope="module")
def contracts() -> WireContracts:
    return WireContracts.for_registry(None)


@pytest.fixture(scope="module")
def workload(contracts: WireContracts) -> Workload:
    return generate(
        7,
        contracts,
        TOPICS,
        PARTITIONS,
        NOW_MS,
        requests=4_000,
        customers=100,
        receivers=10,
        misrouted=5,
    )


@pytest.fixture(scope="module")
def journal(workload: Workload, contracts: WireContracts) -> list[LedgerEvent]:
    out = run_in_memory(workload, contracts)
    assert len(out[TOPICS.requests_dlq]) == workload.garbage
    return [contracts.decode_event(r.value or b"") for r in out[TOPICS.events]]


def test_the_journal_matches_the_model(journal: list[LedgerEvent], workload: Workload) -> None:
    assert journal_problems(journal, workload) == []


def test_a_lost_event_is_caught(journal: list[LedgerEvent], workload: Workload) -> None:
    victim = next(i for i, e in enumerate(journal) if e.status is Status.APPLIED)
    problems = journal_problems(journal[:victim] + journal[victim + 1 :], workload)
    assert any("events in the journal" in p for p in problems)


def test_an_event_applied_twice_is_caught(journal: list[LedgerEvent], workload: Workload) -> None:
    victim = next(i for i, e in enumerate(journal) if e.status is Status.APPLIED)
    problems = journal_problems(journal[: victim + 1] + journal[victim:], workload)
    assert any("applied 2 times" in p for p in problems)


def test_a_wrong_amount_is_caught(journal: list[LedgerEvent], workload: Workload) -> None:
    victim = next(
        i
        for i, e in enumerate(journal)
        if e.status is Status.APPLIED and e.request.operation.value == "ACCRUE"
    )
    event = journal[victim]
    doubled = replace(
        event, postings=tuple(replace(p, amount=p.amount * 2) for p in event.postings)
    )
    forged = [*journal[:victim], doubled, *journal[victim + 1 :]]
    assert journal_problems(forged, workload) != []


def test_the_changelog_holds_the_folded_state(workload: Workload, contracts: WireContracts) -> None:
    """The state record, and the receipts and reversal records one per record (tombstoned
    when forgotten), together make the state the journal folds to."""
    out = run_in_memory(workload, contracts)
    latest = {
        r.key or b"": contracts.decode_state(r.value or b"") for r in out[TOPICS.state_changelog]
    }
    assert all(not state.receipts and not state.reversibles for state in latest.values())
    receipts: dict[bytes, dict[str, Receipt]] = defaultdict(dict)
    for record in out[TOPICS.state_receipts]:
        account, request_id = split_memory_key(record.key or b"")
        receipts[account].pop(request_id, None)
        if record.value:
            receipts[account][request_id] = contracts.decode_receipt(record.value)[2]
    reversibles: dict[bytes, dict[str, Reversible]] = defaultdict(dict)
    for record in out[TOPICS.state_reversibles]:
        account, request_id = split_memory_key(record.key or b"")
        if record.value:
            reversibles[account][request_id] = contracts.decode_reversible(record.value)[2]
        else:
            reversibles[account].pop(request_id)
    latest = {
        key: replace(state, receipts=receipts[key], reversibles=reversibles[key])
        for key, state in latest.items()
    }
    from ledger.evolve import evolve
    from ledger.idempotency import remembers
    from schemas.partitioning import account_key

    folded: dict[bytes, object] = {}
    for record in out[TOPICS.events]:
        event = contracts.decode_event(record.value or b"")
        key = account_key(event.program, event.account_id)
        if remembers(event):  # applied, or a final rejection: the state changed
            folded[key] = evolve(folded.get(key), event)  # type: ignore[arg-type]
    assert latest == folded
