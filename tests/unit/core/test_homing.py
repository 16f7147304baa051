"""A move through the core: the old home hands over (event, directory, INSTALL), forwards what
comes after; the new home installs; neither decides what the other owns."""

from __future__ import annotations

import dataclasses

import pytest
from msgspec.structs import replace

from ledger.model import Operation, Request, Status
from ledger.placement import Homes, Placement
from ledger.programs import Programs
from processors.core.batch import (
    INSTALL_MARGIN_BYTES,
    RECORD_OVERHEAD_BYTES,
    BatchApplier,
    InputRecord,
)
from processors.core.homing import HOPS_HEADER, HOPS_MAX, hops_of
from processors.core.store import PartitionStore
from schemas.contracts import WireContracts
from schemas.directory import DirectoryEntry, DirectoryRecordError, decode_entry
from schemas.partitioning import account_key, partition_for
from settings import TopicNames
from settings.programs import load_programs
from tests.support.processes import ROOT

TOPICS = TopicNames("unit.")
PARTITIONS = 4
NOW_MS = 1_790_000_000_000
KEY = account_key("acme", "ann")


@pytest.fixture(scope="module")
def contracts() -> WireContracts:
    return WireContracts.for_registry(None)


@pytest.fixture(scope="module")
def programs() -> Programs:
    return load_programs(ROOT / "config" / "programs.toml")


class FakeDirectory:
    """The directory view's two calls, over a dict (the view itself reads Kafka)."""

    def __init__(self) -> None:
        self.entries: dict[bytes, DirectoryEntry] = {}

    def get(self, key: bytes) -> DirectoryEntry | None:
        return self.entries.get(key)

    def note(self, key: bytes, entry: DirectoryEntry) -> None:
        self.entries[key] = entry


def _region(name: str, programs: Programs, contracts: WireContracts) -> BatchApplier:
    homes = Homes(name, "eu", {"acme": Placement("eu", (("us-", "us"),))}, ("eu", "us"))
    stores = {p: PartitionStore(p) for p in range(PARTITIONS)}
    return BatchApplier(
        TOPICS, PARTITIONS, programs, contracts, stores, homes=homes, directory=FakeDirectory()
    )


def _request(request_id: str, operation: Operation, **fields: object) -> Request:
    values: dict[str, object] = {"asset": "points", "amount": 0, **fields}
    return Request(
        request_id=request_id,
        program="acme",
        account_id="ann",
        operation=operation,
        requested_at_ms=NOW_MS,
        principal="test",
        **values,  # type: ignore[arg-type]
    )


def _record(
    contracts: WireContracts, request: Request, offset: int, topic: str, hops: int = 0
) -> InputRecord:
    value = contracts.encode_request(request, topic)
    return InputRecord(partition_for(KEY, PARTITIONS), offset, KEY, value, topic=topic, hops=hops)


def test_an_account_moves_from_one_region_to_the_other(
    contracts: WireContracts, programs: Programs
) -> None:
    eu, us = _region("eu", programs, contracts), _region("us", programs, contracts)
    accrue = _request("a1", Operation.ACCRUE, amount=100)
    handoff = _request("m1", Operation.HANDOFF, asset="", to_region="us")
    after = _request("a2", Operation.ACCRUE, amount=5)
    records = [
        _record(contracts, accrue, 0, TOPICS.requests),
        _record(contracts, handoff, 0, TOPICS.operator_requests),
        _record(contracts, after, 1, TOPICS.requests),
    ]
    result = eu.apply(records, NOW_MS)
    events = [
        contracts.decode_event(r.value or b"") for r in result.records if r.topic == TOPICS.events
    ]
    assert [(e.request.request_id, e.status, e.region, e.epoch) for e in events] == [
        ("a1", Status.APPLIED, "eu", 0),
        ("m1", Status.APPLIED, "eu", 0),
    ]
    (entry,) = [decode_entry(r.value) for r in result.records if r.topic == TOPICS.directory]
    assert (entry.home, entry.epoch, entry.previous, entry.sequence) == ("us", 1, "eu", 2)
    (outboxed,) = [r for r in result.records if r.topic == TOPICS.outbox]
    assert outboxed.value == records[2].value  # a2, after the HANDOFF: to the new home
    assert dict(outboxed.headers or [])[HOPS_HEADER] == b"1"
    (install_record,) = [r for r in result.records if r.topic == TOPICS.internal_requests]
    install = contracts.decode_request(install_record.value or b"")
    assert (install.operation, install.to_region) == (Operation.INSTALL, "us")

    # Read back from eu's internal topic, the INSTALL goes to us too.
    leg = InputRecord(
        install_record.partition, 0, KEY, install_record.value, topic=TOPICS.internal_requests
    )
    again = eu.apply([leg], NOW_MS)
    assert again.sent_home == 1 and again.decided == 0

    arrived = us.apply([leg, _record(contracts, after, 5, TOPICS.requests, hops=1)], NOW_MS)
    installed, credited = [
        contracts.decode_event(r.value or b"") for r in arrived.records if r.topic == TOPICS.events
    ]
    assert (installed.sequence, installed.epoch, installed.region) == (3, 1, "us")
    assert (credited.sequence, credited.balances[0].available) == (4, 105)
    (confirmed,) = [decode_entry(r.value) for r in arrived.records if r.topic == TOPICS.directory]
    assert (confirmed.home, confirmed.epoch) == ("us", 1)


def test_a_handoff_goes_only_to_another_region_of_the_deployment(
    contracts: WireContracts, programs: Programs
) -> None:
    eu = _region("eu", programs, contracts)
    accrue = _record(contracts, _request("a1", Operation.ACCRUE, amount=10), 0, TOPICS.requests)
    here = _request("m1", Operation.HANDOFF, asset="", to_region="eu")
    nowhere = _request("m2", Operation.HANDOFF, asset="", to_region="mars")
    result = eu.apply(
        [
            accrue,
            _record(contracts, here, 0, TOPICS.operator_requests),
            _record(contracts, nowhere, 1, TOPICS.operator_requests),
        ],
        NOW_MS,
    )
    events = [
        contracts.decode_event(r.value or b"") for r in result.records if r.topic == TOPICS.events
    ]
    assert [str(e.reason) for e in events[1:]] == ["region_unknown", "region_unknown"]
    # Without regions there is nowhere to go.
    stores = {p: PartitionStore(p) for p in range(PARTITIONS)}
    single = BatchApplier(TOPICS, PARTITIONS, programs, contracts, stores)
    alone = single.apply([accrue, _record(contracts, nowhere, 1, TOPICS.operator_requests)], NOW_MS)
    events = [
        contracts.decode_event(r.value or b"") for r in alone.records if r.topic == TOPICS.events
    ]
    assert [str(e.reason) for e in events] == ["None", "region_unknown"]
    assert events[0].region == ""


def test_a_request_that_never_finds_its_home_is_dead_lettered(
    contracts: WireContracts, programs: Programs
) -> None:
    eu = _region("eu", programs, contracts)
    lost = replace(_request("us-x", Operation.ACCRUE, amount=1), account_id="us-ann")
    key = account_key("acme", "us-ann")
    value = contracts.encode_request(lost, TOPICS.requests)
    record = InputRecord(partition_for(key, PARTITIONS), 0, key, value, topic=TOPICS.requests)
    circling = dataclasses.replace(record, hops=HOPS_MAX)
    result = eu.apply([record, circling], NOW_MS)
    assert result.sent_home == 1 and result.dead_lettered == 1
    (dead,) = [r for r in result.records if r.topic == TOPICS.requests_dlq]
    assert dict(dead.headers or [])["ledger.dlq.reason"] == b"no_home"


def test_a_moved_account_without_state_here_goes_where_the_directory_says(
    contracts: WireContracts, programs: Programs
) -> None:
    us = _region("us", programs, contracts)
    directory = us.homing.directory if us.homing else None
    assert isinstance(directory, FakeDirectory)
    accrue = _record(contracts, _request("a9", Operation.ACCRUE, amount=1), 0, TOPICS.requests)
    # Moved here, INSTALL not arrived yet: back to the old home rather than start afresh.
    directory.note(KEY, DirectoryEntry("us", 1, "eu", 7, NOW_MS))
    result = us.apply([accrue], NOW_MS)
    (sent,) = [r for r in result.records if r.topic == TOPICS.outbox]
    assert dict(sent.headers or [])["ledger.home"] == b"eu"
    directory.note(KEY, DirectoryEntry("eu", 2, "us", 9, NOW_MS))
    result = us.apply([accrue], NOW_MS)
    (sent,) = [r for r in result.records if r.topic == TOPICS.outbox]
    assert dict(sent.headers or [])["ledger.home"] == b"eu"


def test_a_request_whose_home_is_no_region_of_the_deployment_is_dead_lettered(
    contracts: WireContracts, programs: Programs
) -> None:
    # A directory written by a deployment with more regions, or one region's placement out of
    # step: no relay reads an outbox record for "in", it would wait there for ever.
    us = _region("us", programs, contracts)
    directory = us.homing.directory if us.homing else None
    assert isinstance(directory, FakeDirectory)
    directory.note(KEY, DirectoryEntry("in", 2, "us", 9, NOW_MS))
    accrue = _record(contracts, _request("a9", Operation.ACCRUE, amount=1), 0, TOPICS.requests)

    result = us.apply([accrue], NOW_MS)

    assert (result.sent_home, result.dead_lettered, result.decided) == (0, 1, 0)
    (dead,) = [r for r in result.records if r.topic == TOPICS.requests_dlq]
    headers = dict(dead.headers or [])
    assert headers["ledger.dlq.reason"] == b"no_home"
    assert b"'in' is no region" in (headers["ledger.dlq.detail"] or b"")


def test_the_directory_learns_a_move_only_once_its_batch_committed(
    contracts: WireContracts, programs: Programs
) -> None:
    eu = _region("eu", programs, contracts)
    directory = eu.homing.directory if eu.homing else None
    assert isinstance(directory, FakeDirectory)
    accrue = _record(contracts, _request("a1", Operation.ACCRUE, amount=10), 0, TOPICS.requests)
    handoff = _request("m1", Operation.HANDOFF, asset="", to_region="us")

    result = eu.apply([accrue, _record(contracts, handoff, 0, TOPICS.operator_requests)], NOW_MS)

    # Written in the batch's transaction; an abort would leave the view naming a move that
    # never happened.
    assert [r.topic for r in result.records].count(TOPICS.directory) == 1
    assert directory.get(KEY) is None
    eu.committed(result)
    entry = directory.get(KEY)
    assert entry is not None and (entry.home, entry.epoch) == ("us", 1)


def test_directory_entries_and_hops_are_read_defensively() -> None:
    entry = DirectoryEntry("us", 1, "eu", 5, NOW_MS)
    assert decode_entry(entry.encode()) == entry
    for bad in (b"", b"{}", b'{"home": "", "epoch": 1}', b"x" * 5000, b"[1]"):
        with pytest.raises(DirectoryRecordError):
            decode_entry(bad)
    assert [hops_of(v) for v in (None, b"3", b"-4", b"x")] == [0, 3, 0, 0]


def test_a_handoff_whose_install_could_not_be_decided_at_the_new_home_is_refused(
    contracts: WireContracts, programs: Programs
) -> None:
    # An account with many lots: its INSTALL fits a record, but not with the room its event
    # needs at the new home. Refused there, its value would be stranded in @transit.
    accruals = [
        _record(
            contracts,
            _request(f"a{n}", Operation.ACCRUE, amount=1, expires_at_ms=NOW_MS + 86_400_000 + n),
            n,
            TOPICS.requests,
        )
        for n in range(600)
    ]
    handoff = _record(
        contracts,
        _request("m1", Operation.HANDOFF, asset="", to_region="us"),
        0,
        TOPICS.operator_requests,
    )
    roomy = _region("eu", programs, contracts)
    moved = roomy.apply([*accruals, handoff], NOW_MS)
    (install,) = [r for r in moved.records if r.topic == TOPICS.internal_requests]
    (event,) = [r for r in moved.records if r.topic == TOPICS.events][-1:]
    assert contracts.decode_event(event.value or b"").status is Status.APPLIED
    install_bytes = len(KEY) + len(install.value or b"") + RECORD_OVERHEAD_BYTES
    assert len(KEY) + len(event.value or b"") + RECORD_OVERHEAD_BYTES < install_bytes

    tight = _region("eu", programs, contracts)
    tight.record_bytes_max = install_bytes + INSTALL_MARGIN_BYTES - 1
    refused = tight.apply([*accruals, handoff], NOW_MS)

    last = contracts.decode_event(
        [r for r in refused.records if r.topic == TOPICS.events][-1].value or b""
    )
    assert (last.request.request_id, str(last.reason)) == ("m1", "output_too_large")
    assert not [r for r in refused.records if r.topic == TOPICS.internal_requests]
    state = tight.stores[partition_for(KEY, PARTITIONS)].get(KEY)
    assert state is not None and not state.moved_to and state.balances["points"].available == 600
