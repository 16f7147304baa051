"""Behaviour the scenario tables cannot show: emitted legs, event shapes, clock, ids."""

from __future__ import annotations

from ledger.decide import decide
from ledger.evolve import evolve
from ledger.model import AccountState, CarriedLot, Channel, Operation, Request, Status
from ledger.programs import Programs
from ledger.timers import due_timers, next_due_ms

DAY = 86_400_000


def _request(request_id: str, operation: Operation, amount: int = 0, **extra: object) -> Request:
    fields: dict[str, object] = {"requested_at_ms": 0, **extra}
    return Request(request_id, "acme", "alice", operation, "points", amount, **fields)  # type: ignore[arg-type]


def test_transfer_emits_a_credit_leg_with_the_expiries(programs: Programs) -> None:
    state = decide(None, _request("a1", Operation.ACCRUE, 10, expires_at_ms=DAY), 0, programs)
    state2 = decide(state.state, _request("a2", Operation.ACCRUE, 10), 0, programs).state
    decision = decide(
        state2, _request("t1", Operation.TRANSFER, 15, counterparty_account_id="bob"), 0, programs
    )
    (credit,) = decision.emitted
    # Named by the debit's sequence: unique for all time, even if "t1" is used again later.
    assert credit.request_id == "credit:alice:3"
    assert credit.account_id == "bob" and credit.operation is Operation.TRANSFER_CREDIT
    assert credit.carried_lots == (CarriedLot(10, DAY), CarriedLot(5, 365 * DAY))
    assert credit.reference == "t1" and credit.counterparty_account_id == "alice"


def test_a_rejected_credit_leg_emits_a_refund_once_whenever_it_comes(
    programs: Programs,
) -> None:
    credit = Request(
        "credit:alice:7",
        "acme",
        "bob",
        Operation.TRANSFER_CREDIT,
        "cashback_xyz",
        5,
        reference="t1",
        counterparty_account_id="alice",
        requested_at_ms=0,
        carried_lots=(CarriedLot(5, None),),
    )
    decision = decide(None, credit, 0, programs, Channel.SYSTEM)
    assert decision.event.reason == "asset_unknown"
    (refund,) = decision.emitted
    assert (refund.request_id, refund.account_id) == ("refund:bob:7", "alice")
    assert refund.operation is Operation.TRANSFER_REFUND
    # A leg is never stale: a partition stopped for longer than the window must not strand
    # the value in @transit.
    late = decide(None, credit, 2 * DAY, programs, Channel.SYSTEM)
    assert late.event.reason == "asset_unknown" and len(late.emitted) == 1
    # Its rejection is final: delivered again, it refunds nothing a second time.
    again = decide(decision.state, credit, 1, programs, Channel.SYSTEM)
    assert again.event.status is Status.DUPLICATE and again.emitted == ()
    assert again.event.reason == "asset_unknown"


def test_a_leg_from_a_public_topic_is_refused_and_refunds_nothing(programs: Programs) -> None:
    forged = Request(
        "credit:mallory:1",
        "acme",
        "mallory",
        Operation.TRANSFER_CREDIT,
        "points",
        1_000_000,
        reference="t1",
        counterparty_account_id="alice",
        requested_at_ms=0,
        carried_lots=(CarriedLot(1_000_000, None),),
    )
    decision = decide(None, forged, 0, programs, Channel.PUBLIC)
    assert decision.event.reason == "operation_not_permitted"
    assert decision.emitted == () and decision.event.postings == ()
    # Not remembered: the id space of system requests belongs to the ledger.
    assert decision.state.receipts == {}


def test_events_carry_sequence_postings_and_balances(programs: Programs) -> None:
    first = decide(None, _request("a1", Operation.ACCRUE, 10), 5, programs)
    event = first.event
    assert (event.status, event.sequence, event.event_id) == (Status.APPLIED, 1, "acme:alice:1")
    assert sum(posting.amount for posting in event.postings) == 0
    assert event.balances[0].available == 10
    rejected = decide(first.state, _request("r1", Operation.REDEEM, 11), 6, programs)
    assert rejected.event.sequence == 1 and rejected.state.sequence == 1
    assert rejected.state.balances == first.state.balances
    assert rejected.state.lots == first.state.lots
    assert rejected.state.receipts["r1"].reason == "insufficient_funds"
    assert rejected.event.event_id == "acme:alice:1:REJECTED:r1"
    retried = decide(rejected.state, _request("r1", Operation.REDEEM, 11), 7, programs)
    assert retried.event.status is Status.DUPLICATE and retried.state is rejected.state
    assert (retried.event.reason, retried.event.original_sequence) == ("insufficient_funds", 1)
    duplicate = decide(first.state, _request("a1", Operation.ACCRUE, 10), 7, programs)
    assert duplicate.event.status is Status.DUPLICATE
    assert duplicate.event.original_sequence == 1


def test_the_account_clock_never_runs_backwards(programs: Programs) -> None:
    first = decide(None, _request("a1", Operation.ACCRUE, 10), 1_000, programs)
    second = decide(first.state, _request("a2", Operation.ACCRUE, 10), 500, programs)
    assert second.event.processed_at_ms == 1_000
    assert second.state.clock_ms == 1_000


def test_a_new_account_rejection_remembers_only_the_request(programs: Programs) -> None:
    decision = decide(None, _request("r1", Operation.REDEEM, 1), 0, programs)
    assert (decision.state.sequence, decision.state.balances, decision.state.lots) == (0, {}, {})
    assert list(decision.state.receipts) == ["r1"]
    assert evolve(None, decision.event) == decision.state


def test_a_rejection_before_the_idempotency_check_changes_nothing(programs: Programs) -> None:
    first = decide(None, _request("a1", Operation.ACCRUE, 10), 0, programs).state
    stale = decide(
        first, _request("a2", Operation.ACCRUE, 10, requested_at_ms=-2 * DAY), 0, programs
    )
    assert stale.event.reason == "stale_request" and stale.state is first
    # An ADJUST on the public channel: refused, and its id stays free for the operator.
    adjust = _request("fix-1", Operation.ADJUST, 5, reason="goodwill")
    refused = decide(first, adjust, 0, programs, Channel.PUBLIC)
    assert refused.event.reason == "operation_not_permitted" and refused.state is first
    applied = decide(first, adjust, 0, programs, Channel.OPERATOR)
    assert applied.event.status is Status.APPLIED and applied.event.channel is Channel.OPERATOR


def test_forgotten_ids_are_listed_in_the_event(programs: Programs) -> None:
    state = decide(None, _request("a1", Operation.ACCRUE, 10), 0, programs).state
    later = _request("a2", Operation.ACCRUE, 10, requested_at_ms=2 * DAY)
    event = decide(state, later, 2 * DAY, programs).event
    assert event.forgotten_request_ids == ("a1",)


def test_timers_are_deterministic_and_next_due_is_reported(programs: Programs) -> None:
    state = decide(None, _request("a1", Operation.ACCRUE, 10, expires_at_ms=100), 0, programs)
    held = decide(state.state, _request("h1", Operation.HOLD, 3, expires_at_ms=50), 0, programs)
    assert next_due_ms(held.state) == 50
    assert due_timers(held.state, 49, programs) == []
    timers = due_timers(held.state, 100, programs)
    assert [timer.request_id for timer in timers] == ["expire:1", "hold-timeout:2:h1"]
    assert timers == due_timers(held.state, 100, programs)
    assert next_due_ms(AccountState("acme", "nobody")) is None


def test_an_install_is_taken_in_even_where_its_program_is_unknown(programs: Programs) -> None:
    # The HANDOFF already took the value out of the old home's books: refusing the INSTALL
    # for a program this region does not (or no longer) configures would strand it in
    # @transit for good. The account arrives; what comes next is decided by the usual rules.
    accrued = decide(None, _request("a1", Operation.ACCRUE, 40), 0, programs).state
    handoff = Request(
        "m1", "acme", "alice", Operation.HANDOFF, "", to_region="us", requested_at_ms=0
    )
    moved = decide(accrued, handoff, 0, programs, Channel.OPERATOR)
    assert moved.event.status is Status.APPLIED
    (install,) = moved.emitted

    arrived = decide(None, install, 5, {}, Channel.SYSTEM)

    assert arrived.event.status is Status.APPLIED, arrived.event.reason
    assert arrived.state.balances["points"].available == 40
    assert (arrived.state.epoch, arrived.event.program_version) == (1, 0)
    # The same INSTALL again changes nothing, and another request is program_unknown as ever.
    again = decide(arrived.state, install, 6, {}, Channel.SYSTEM)
    assert again.event.status is not Status.APPLIED and again.state == arrived.state
    after = decide(arrived.state, _request("a2", Operation.ACCRUE, 1), 6, {})
    assert str(after.event.reason) == "program_unknown"
