"""One batch of request records -> the records to write in its transaction. No Kafka here.

`BatchApplier.apply` takes the polled records and the batch's clock, and returns every record
the transaction must contain, in order:

1. per input record: a journal event (decided with the channel of the topic it was read
   from: public, operator or internal, see routing.channels), or a forwarded copy to the same
   topic (the record arrived on a partition that does not own its account), or a DLQ record
   (undecodable, key not matching the content, or the decision itself crashed: a poison
   record never stops the loop); requests a decision emitted for other accounts (transfer
   legs) follow their event, on the internal topic;
2. timers that came due on the owned partitions, decided like requests on the system channel
   (`expire:<lot>`, `hold-timeout:<sequence>:<hold>` ids make them exactly once with the rest
   of the batch); a timer that did not apply is tried again `TIMER_RETRY_MS` later, never
   dropped;
3. the latest `AccountState` of every account the batch touched, once, to its changelog
   partition, without its receipts and reversal records: those changed by the batch's events
   go one record per request id to their own compacted topics (a tombstone for each id an
   event forgot), on the same partition. So a busy account's state record stays as small as
   its lots and holds, whatever its activity.

Every record is checked against `record_bytes_max` before it is staged, so the transaction
never meets a record the producer or the broker would refuse (that used to stop every
partition of the processor, retrying one batch for ever). A request is small by contract
(schemas/limits.py; over a limit it is dead-lettered, `limit_exceeded`); what can still grow
is its outcome (an event listing tens of thousands of lot changes, a leg carrying them, the
account's state): such a decision is replaced by its refusal, `output_too_large`.

Because this runs without a broker, unit tests drive it with plain tuples.

Long on purpose: one batch's decisions, outputs and dead letters are applied in one place, in
the order the loop commits them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from msgspec.structs import replace

from ledger.decide import Decision, decide, refuse
from ledger.idempotency import receipt_of, remembers
from ledger.model import (
    AccountState,
    Channel,
    LedgerEvent,
    Operation,
    Receipt,
    Request,
    Reversible,
    Status,
)
from ledger.placement import Homes
from ledger.programs import Programs, ProgramSource, program_source
from ledger.reasons import Reason
from ledger.timers import due_timers, next_due_ms
from processors.core.homing import HOPS_HEADER, HOPS_MAX, Directory, Homing, refuse_without_regions
from processors.core.routing import channels
from processors.core.store import StateStore
from schemas.contracts import (
    HOME_HEADER,
    INPUT_HEADER,
    REPLY_TO_HEADER,
    TRACE_HEADER,
    WireContracts,
    memory_key,
)
from schemas.directory import DirectoryEntry
from schemas.exceptions import LimitExceededError, UndecodableMessage
from schemas.partitioning import account_key, partition_for
from settings import TopicNames

log = logging.getLogger(__name__)

Headers = list[tuple[str, str | bytes | None]]

TIMER_RETRY_MS = 60_000
# After the programs topic failed to answer, batches take the known programs this long before
# asking it again (each try may wait for the catch-up's timeout).
PROGRAMS_RETRY_S = 5.0
PROGRAMS_WARNING_INTERVAL_S = 10.0
"""A timer whose decision did not apply (a bug, a crash) is tried again this much later: soon
enough that no value stays wrongly available for long, rare enough not to spin on a bug."""


@dataclass(frozen=True, slots=True)
class InputRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    trace_id: bytes | None = None
    topic: str = ""
    """The input topic it was read from ("" in tests means the public requests topic)."""
    reply_to: bytes | None = None
    """The gateway process waiting for the outcome (REPLY_TO_HEADER), copied onto the event."""
    hops: int = 0
    """How many times it travelled between regions (homing.HOPS_HEADER)."""


@dataclass(frozen=True, slots=True)
class OutputRecord:
    topic: str
    partition: int
    key: bytes | None
    value: bytes | None
    headers: Headers | None = None


Outcome = tuple[str, str, str]
"""(operation, status, reason or "") of one decision, for metrics."""


@dataclass(slots=True)
class MemoryChanges:
    """What a batch's events changed in one account's receipts and reversal records (None:
    forgotten), in order."""

    program: str
    account_id: str
    receipts: dict[str, Receipt | None] = field(default_factory=dict)
    reversibles: dict[str, Reversible | None] = field(default_factory=dict)

    def note(self, event: LedgerEvent) -> None:
        for request_id in event.forgotten_request_ids:
            self.receipts[request_id] = None
        for request_id in event.forgotten_reversibles:
            self.reversibles[request_id] = None
        carried = event.request.carried_state
        if carried is not None and event.status is Status.APPLIED:
            # An INSTALL: the account's whole memory arrives with it.
            self.receipts.update(carried.receipts)
            self.reversibles.update(carried.reversibles)
        for reversible in event.reversibles:
            self.reversibles[reversible.request_id] = reversible
        self.receipts[event.request.request_id] = receipt_of(event)


@dataclass(slots=True)
class BatchResult:
    records: list[OutputRecord] = field(default_factory=list)
    memory: dict[tuple[int, bytes], MemoryChanges] = field(default_factory=dict)
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    decided: int = 0
    forwarded: int = 0
    sent_home: int = 0  # requests for accounts homed in another region, to the outbox
    moves: list[tuple[bytes, DirectoryEntry]] = field(default_factory=list)
    """Directory entries this batch writes (HANDOFF, INSTALL): noted once it commits."""
    dead_lettered: int = 0
    timers_fired: int = 0


class DeadLetterReason:
    UNDECODABLE = "undecodable"
    LIMIT_EXCEEDED = "limit_exceeded"
    KEY_MISMATCH = "key_mismatch"
    EMPTY_VALUE = "empty_value"
    PROCESSING_ERROR = "processing_error"
    OUTPUT_TOO_LARGE = "output_too_large"
    NO_HOME = "no_home"


RECORD_OVERHEAD_BYTES = 4_096
"""Headers and per-record framing, counted on top of key and value."""
INSTALL_MARGIN_BYTES = 65_536
"""Room an INSTALL must leave under the record limit: at the new home its event adds postings,
balances and its own fields to the request it carries, and an INSTALL refused there would
strand the account's value in @transit. So its HANDOFF is refused here instead."""
STATE_ENTRY_BYTES_MAX = 512
"""An encoded balance, lot or hold slice is smaller than this (ids and names are bounded by
the contract): a state with few enough of them fits without encoding it."""


Staged = tuple[bytes, list[tuple[bytes, bytes]]]
"""An event's bytes and its emitted requests' (key, bytes)."""


class BatchApplier:
    def __init__(
        self,
        topics: TopicNames,
        partitions: int,
        programs: Programs | ProgramSource,
        encoder: WireContracts,
        stores: Mapping[int, StateStore],
        record_bytes_max: int = 900_000,
        homes: Homes | None = None,
        directory: Directory | None = None,
    ) -> None:
        """`homes`: in a region, who applies what; a request for an account homed elsewhere
        goes to the outbox for its home instead of being decided here (homing.py), and
        `directory` knows where moved accounts live."""
        self.topics = topics
        self.homing = Homing(homes, directory) if homes is not None else None
        self.partitions = partitions
        self.program_source = program_source(programs)
        # One set of versions per batch, taken when it starts.
        self.programs: Programs = self.program_source.programs()
        self._warned_at = -PROGRAMS_WARNING_INTERVAL_S
        self._programs_retry_at = 0.0
        self.encoder = encoder
        self.stores = stores
        self.channels = channels(topics)
        self.record_bytes_max = record_bytes_max

    def apply(self, records: Sequence[InputRecord], now_ms: int) -> BatchResult:
        result = BatchResult()
        # Every change committed before this batch's records were read is in the versions
        # it is decided with: the programs change in order with requests, whatever path a
        # request took. Usually one end-offset query (the feed is already there); an idle
        # pass (timers only) takes what the feed has.
        self.programs = self._latest_programs() if records else self.program_source.programs()
        for record in records:
            self._apply_record(record, now_ms, result)
        for partition, store in self.stores.items():
            for key in store.pop_due(now_ms):
                self._fire_timers(partition, store, key, now_ms, result)
        topics = self.topics
        for partition, store in self.stores.items():
            for key, state in store.touched():
                value = self.encoder.encode_state(state, topics.state_changelog, memory=False)
                result.records.append(OutputRecord(topics.state_changelog, partition, key, value))
        for (partition, _), changes in result.memory.items():
            result.records.extend(self._memory_records(partition, changes))
        return result

    def committed(self, result: BatchResult) -> None:
        """`result`'s transaction committed: what it wrote to the directory is true now (an
        aborted batch is decided again, and writes its entries again)."""
        if self.homing is not None:
            for key, entry in result.moves:
                self.homing.note(key, entry)

    def _latest_programs(self) -> Programs:
        """The programs once caught up with the topic; when its partition cannot answer (its
        leader failing over), the latest this process has, said in a warning: deciding with
        a version one change behind beats stopping every account, and each event records
        the version it used. No change can be written while the partition cannot answer."""
        now = time.monotonic()
        if now < self._programs_retry_at:
            return self.program_source.programs()
        try:
            return self.program_source.catch_up()
        except Exception as error:
            self._programs_retry_at = now + PROGRAMS_RETRY_S
            if now - self._warned_at > PROGRAMS_WARNING_INTERVAL_S:
                self._warned_at = now
                log.warning("deciding with the programs known so far: %s", error)
            return self.program_source.programs()

    def _memory_records(self, partition: int, changes: MemoryChanges) -> list[OutputRecord]:
        topics, encoder = self.topics, self.encoder
        program, account = changes.program, changes.account_id
        records = []
        for request_id, receipt in changes.receipts.items():
            value = (
                None
                if receipt is None
                else encoder.encode_receipt(program, account, receipt, topics.state_receipts)
            )
            key = memory_key(program, account, request_id)
            records.append(OutputRecord(topics.state_receipts, partition, key, value))
        for request_id, reversible in changes.reversibles.items():
            value = (
                None
                if reversible is None
                else encoder.encode_reversible(
                    program, account, reversible, topics.state_reversibles
                )
            )
            key = memory_key(program, account, request_id)
            records.append(OutputRecord(topics.state_reversibles, partition, key, value))
        return records

    def _fire_timers(
        self, partition: int, store: StateStore, key: bytes, now_ms: int, result: BatchResult
    ) -> None:
        state = store.get(key)
        if state is None:
            return
        for timer in due_timers(state, now_ms, self.programs):
            decided = self._decide(partition, key, timer, now_ms, result, None, Channel.SYSTEM)
            if decided is Status.APPLIED:
                result.timers_fired += 1
        after = store.get(key)
        due = next_due_ms(after) if after is not None else None
        if due is not None and due <= now_ms:
            log.error(
                "timers of %r did not apply; trying again in %d ms",
                key,
                TIMER_RETRY_MS,
                extra={"partition": partition},
            )
            store.retry_timers(key, now_ms + TIMER_RETRY_MS)

    def _apply_record(self, record: InputRecord, now_ms: int, result: BatchResult) -> None:
        topic = record.topic or self.topics.requests
        if not record.value:
            self._dead_letter(record, DeadLetterReason.EMPTY_VALUE, "no value", result)
            return
        try:
            request = self.encoder.decode_request(record.value)
        except LimitExceededError as error:
            self._dead_letter(record, DeadLetterReason.LIMIT_EXCEEDED, str(error), result)
            return
        except UndecodableMessage as error:
            self._dead_letter(record, DeadLetterReason.UNDECODABLE, repr(error), result)
            return
        key = account_key(request.program, request.account_id)
        if record.key is not None and record.key != key:
            detail = f"record key {record.key!r} but the request is for {key!r}"
            self._dead_letter(record, DeadLetterReason.KEY_MISMATCH, detail, result)
            return
        owner = partition_for(key, self.partitions)
        if owner != record.partition and not self._fits(key, record.value):
            detail = f"{len(record.value)} bytes cannot be forwarded"
            self._dead_letter(record, DeadLetterReason.OUTPUT_TOO_LARGE, detail, result)
            return
        if owner != record.partition:
            # To the same topic: a forwarded record keeps the channel it was written on.
            result.records.append(
                OutputRecord(
                    topic,
                    owner,
                    key,
                    record.value,
                    _carried(
                        [
                            (
                                "ledger.forwarded-from",
                                f"{record.partition}:{record.offset}".encode(),
                            ),
                            *_hops(record.hops),
                        ],
                        record,
                    ),
                )
            )
            result.forwarded += 1
            return
        if self.homing is not None:
            home = self.homing.destination(self.stores[owner].get(key), key, request)
            if home != self.homing.here:
                self._forward_home(record, topic, key, owner, request, result, home)
                return
        self._decide(owner, key, request, now_ms, result, record, self.channels[topic])

    def _forward_home(
        self,
        record: InputRecord,
        topic: str,
        key: bytes,
        owner: int,
        request: Request,
        result: BatchResult,
        home: str,
    ) -> None:
        """To the outbox, for the home's relay: the record as it came, the home it is for and
        the input it came in on (which grants its channel there, as here)."""
        assert self.homing is not None and record.value is not None
        if not self._fits(key, record.value):
            detail = f"{len(record.value)} bytes cannot be forwarded"
            self._dead_letter(record, DeadLetterReason.OUTPUT_TOO_LARGE, detail, result)
            return
        if record.hops >= HOPS_MAX:
            detail = f"sent between regions {record.hops} times, last to {home}: no home decides it"
            self._dead_letter(record, DeadLetterReason.NO_HOME, detail, result)
            return
        if not self.homing.knows(home):
            regions = ", ".join(self.homing.homes.regions)
            detail = f"its home {home!r} is no region of this deployment ({regions})"
            self._dead_letter(record, DeadLetterReason.NO_HOME, detail, result)
            return
        routing: Headers = [
            (HOME_HEADER, home.encode()),
            (INPUT_HEADER, topic[len(self.topics.prefix) :].encode()),
            (
                "ledger.forwarded-from",
                f"{self.homing.here}:{topic}:{record.partition}:{record.offset}".encode(),
            ),
            (HOPS_HEADER, str(record.hops + 1).encode()),
        ]
        result.records.append(
            OutputRecord(self.topics.outbox, owner, key, record.value, _carried(routing, record))
        )
        result.sent_home += 1

    def _decide(
        self,
        partition: int,
        key: bytes,
        request: Request,
        now_ms: int,
        result: BatchResult,
        source: InputRecord | None,
        channel: Channel,
    ) -> Status | None:
        """Decide and stage the outputs; the event's status, None if the decision crashed."""
        store = self.stores[partition]
        internal = self.topics.internal_requests
        before = store.get(key)
        try:
            decision = self._decision(before, request, now_ms, channel)
            staged = self._stage(key, decision)
            if staged is None:  # the outcome cannot be written: the request is refused
                decision = refuse(
                    before, request, now_ms, self.programs, channel, Reason.OUTPUT_TOO_LARGE
                )
                staged = self._stage(key, decision)
        except Exception as error:  # a bug must cost one request, not the pipeline
            log.exception(
                "decision failed",
                extra={
                    "request_id": request.request_id,
                    "program": request.program,
                    "account_id": request.account_id,
                    "partition": partition,
                },
            )
            if source is not None:
                self._dead_letter(source, DeadLetterReason.PROCESSING_ERROR, repr(error), result)
            return None
        if staged is None:  # not even the refusal: impossible within the contract's limits
            log.error("outcome of %r cannot be written", request.request_id)
            if source is not None:
                detail = "neither the outcome nor its refusal fits a record"
                self._dead_letter(source, DeadLetterReason.OUTPUT_TOO_LARGE, detail, result)
            return None
        event_bytes, emitted = staged
        event = decision.event
        homing = self.homing
        entry = homing.entry(event) if homing is not None else None
        if homing is not None and entry is not None:  # a move: where the account lives now
            directory = self.topics.directory
            result.records.append(OutputRecord(directory, partition, key, entry.encode()))
            result.moves.append((key, entry))
        if remembers(event):  # applied, or a final rejection: the state changed
            store.put(key, decision.state)
            changes = result.memory.get((partition, key))
            if changes is None:
                changes = result.memory[(partition, key)] = MemoryChanges(
                    event.program, event.account_id
                )
            changes.note(event)
        trace = _with_trace(None, source.trace_id) if source is not None else None
        event_headers = _carried(None, source) if source is not None else None
        result.records.append(
            OutputRecord(self.topics.events, partition, key, event_bytes, event_headers)
        )
        for emitted_key, value in emitted:
            result.records.append(
                OutputRecord(
                    internal,
                    partition_for(emitted_key, self.partitions),
                    emitted_key,
                    value,
                    trace,
                )
            )
        result.decided += 1
        result.outcomes[
            (
                request.operation.value,
                event.status.value,
                event.reason.value if event.reason else "",
            )
        ] += 1
        return event.status

    def _decision(
        self, before: AccountState | None, request: Request, now_ms: int, channel: Channel
    ) -> Decision:
        """`decide`, then what only the core knows: the regions a HANDOFF may go to. In a
        region, the event names it."""
        decision = decide(before, request, now_ms, self.programs, channel)
        if decision.event.status is Status.APPLIED:
            homing = self.homing
            reason = homing.refusal(request) if homing else refuse_without_regions(request)
            if reason is not None:
                decision = refuse(before, request, now_ms, self.programs, channel, reason)
        if self.homing is not None:
            event = replace(decision.event, region=self.homing.here)
            decision = Decision(event, decision.state, decision.emitted)
        return decision

    def _stage(self, key: bytes, decision: Decision) -> Staged | None:
        """The decision's records, or None when one of them (or the new state) is too large."""
        event_bytes = self.encoder.encode_event(decision.event, self.topics.events)
        if not self._fits(key, event_bytes):
            return None
        internal = self.topics.internal_requests
        emitted = []
        for emitted_request in decision.emitted:
            emitted_key = account_key(emitted_request.program, emitted_request.account_id)
            value = self.encoder.encode_request(emitted_request, internal)
            install = emitted_request.operation is Operation.INSTALL
            if not self._fits(emitted_key, value, INSTALL_MARGIN_BYTES if install else 0):
                return None
            emitted.append((emitted_key, value))
        if decision.event.status is Status.APPLIED and not self._state_fits(key, decision.state):
            return None
        return event_bytes, emitted

    def _fits(self, key: bytes, value: bytes, margin: int = 0) -> bool:
        return len(key) + len(value) + RECORD_OVERHEAD_BYTES + margin <= self.record_bytes_max

    def _state_fits(self, key: bytes, state: AccountState) -> bool:
        entries = (
            sum(len(lots) for lots in state.lots.values())
            + sum(len(hold.portions) + 1 for hold in state.holds.values())
            + len(state.balances)
        )
        if (entries + 1) * STATE_ENTRY_BYTES_MAX + RECORD_OVERHEAD_BYTES <= self.record_bytes_max:
            return True  # the common case: no need to encode it to know
        topic = self.topics.state_changelog
        return self._fits(key, self.encoder.encode_state(state, topic, memory=False))

    def _dead_letter(
        self, record: InputRecord, reason: str, detail: str, result: BatchResult
    ) -> None:
        log.warning(
            "dead-lettered %s (%s)",
            reason,
            detail,
            extra={
                "topic": record.topic or self.topics.requests,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
                "trace_id": record.trace_id.decode(errors="replace") if record.trace_id else None,
            },
        )
        value = record.value
        omitted: Headers = []
        if value is not None and not self._fits(record.key or b"", value):
            # The original stays where it was read: the headers below say where.
            omitted = [("ledger.dlq.value-omitted", str(len(value)).encode())]
            value = None
        result.records.append(
            OutputRecord(
                self.topics.requests_dlq,
                0,
                record.key,
                value,
                [
                    *omitted,
                    ("ledger.dlq.reason", reason.encode()),
                    ("ledger.dlq.detail", detail.encode()[:1000]),
                    ("ledger.dlq.topic", (record.topic or self.topics.requests).encode()),
                    ("ledger.dlq.partition", str(record.partition).encode()),
                    ("ledger.dlq.offset", str(record.offset).encode()),
                ],
            )
        )
        result.dead_lettered += 1


def _hops(hops: int) -> Headers:
    """A record that travelled between regions keeps its count when moved between partitions."""
    return [(HOPS_HEADER, str(hops).encode())] if hops else []


def _carried(headers: Headers | None, source: InputRecord) -> Headers | None:
    """What a request's own records carry on: its trace, and who waits for its outcome."""
    headers = _with_trace(headers, source.trace_id)
    if source.reply_to is None:
        return headers
    return [*(headers or []), (REPLY_TO_HEADER, source.reply_to)]


def _with_trace(headers: Headers | None, trace_id: bytes | None) -> Headers | None:
    if trace_id is None:
        return headers
    return [*(headers or []), (TRACE_HEADER, trace_id)]
