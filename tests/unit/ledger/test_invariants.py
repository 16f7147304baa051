"""The invariants name what is wrong: each kind of damage, made by hand, is caught."""

from __future__ import annotations

from msgspec.structs import replace

from ledger.decide import decide
from ledger.invariants import Books, account_problems
from ledger.model import (
    AccountState,
    Balance,
    CarriedLot,
    Channel,
    Lot,
    Operation,
    Posting,
    Request,
    Status,
)
from ledger.programs import Programs


def _request(
    account: str,
    request_id: str,
    operation: Operation,
    amount: int,
    reference: str | None = None,
    counterparty_account_id: str | None = None,
) -> Request:
    return Request(
        request_id,
        "acme",
        account,
        operation,
        "points",
        amount,
        reference=reference,
        counterparty_account_id=counterparty_account_id,
        requested_at_ms=0,
    )


def _books(programs: Programs) -> tuple[Books, AccountState, Request]:
    books = Books()
    accrued = decide(None, _request("ann", "a1", Operation.ACCRUE, 100), 0, programs)
    assert books.add(accrued.event) == []
    held = decide(accrued.state, _request("ann", "h1", Operation.HOLD, 30), 0, programs)
    assert books.add(held.event) == []
    moved = decide(
        held.state,
        _request("ann", "t1", Operation.TRANSFER, 20, counterparty_account_id="bob"),
        0,
        programs,
    )
    assert books.add(moved.event) == []
    assert books.problems() == []
    (credit,) = moved.emitted
    return books, moved.state, credit


def test_a_credit_leg_settles_its_transfer(programs: Programs) -> None:
    books, state, credit = _books(programs)
    assert [leg.amount for leg in books.in_flight.values()] == [20]
    assert books.add(decide(None, credit, 0, programs, Channel.SYSTEM).event) == []
    assert books.in_flight == {} and books.problems() == []
    (other,) = decide(
        state,
        _request("ann", "t2", Operation.TRANSFER, 5, counterparty_account_id="bob"),
        0,
        programs,
    ).emitted
    # The t2 debit was never folded: its leg settles nothing.
    bob = books.states[("acme", "bob")]
    assert books.add(decide(bob, other, 0, programs, Channel.SYSTEM).event) == []
    assert books.problems() == [
        "acme:bob:2: credit:ann:4 settles no transfer",
        "@transit of acme points is negative: -5",
    ]
    # Unless the reader may still meet the debit (a live journal read partition by partition).
    tolerated = frozenset(books.early)
    assert books.problems(tolerated) == []


def test_a_leg_read_before_its_transfer_settles_when_the_transfer_comes(
    programs: Programs,
) -> None:
    accrued = decide(None, _request("ann", "a1", Operation.ACCRUE, 100), 0, programs)
    moved = decide(
        accrued.state,
        _request("ann", "t1", Operation.TRANSFER, 20, counterparty_account_id="bob"),
        0,
        programs,
    )
    credit = decide(None, moved.emitted[0], 0, programs, Channel.SYSTEM)
    books = Books()
    assert books.add(credit.event) == [] and books.early
    assert books.add(accrued.event) == [] and books.add(moved.event) == []
    assert books.early == {} and books.in_flight == {} and books.problems() == []


def test_a_forged_credit_with_a_zero_trial_balance_is_named(programs: Programs) -> None:
    """What a forged TRANSFER_CREDIT did before channels: balanced postings, sequence in
    order, trial balance zero, and @transit below what is in flight."""
    books, _, _ = _books(programs)
    forged = decide(
        None,
        Request(
            "credit:x:1",
            "acme",
            "mallory",
            Operation.TRANSFER_CREDIT,
            "points",
            1_000_000,
            reference="t",
            counterparty_account_id="x",
            requested_at_ms=0,
            carried_lots=(CarriedLot(1_000_000, None),),
        ),
        0,
        programs,
        Channel.SYSTEM,
    )
    assert forged.event.status is Status.APPLIED
    assert books.add(forged.event) == []
    problems = books.problems()
    assert "acme:mallory:1: credit:x:1 settles no transfer" in problems
    assert "@transit of acme points is negative: -999980" in problems
    assert not any(problem.startswith("trial balance") for problem in problems)
    # And were the leg's debit missing from @transit's books only, the sums would name it.
    books.postings[("acme", "points", "@transit")] += 7
    books.postings[("acme", "points", "@issuance")] -= 7
    assert "@transit of acme points is -999973, transfers in flight carry -999980" in (
        books.problems()
    )


def test_a_lot_that_does_not_match_the_balance_is_named(programs: Programs) -> None:
    _, state, _ = _books(programs)
    lots = state.lots["points"]
    tampered = replace(state, lots={"points": (replace(lots[0], amount=lots[0].amount + 1),)})
    assert account_problems(tampered) == [
        "acme:ann points: lots sum to 51, available is 50 (lots must sum to max(available, 0))"
    ]
    negative = replace(state, balances={"points": Balance("points", -5, 30)})
    assert "lots sum to 50, available is -5" in account_problems(negative)[0]
    unordered = replace(
        state,
        lots={"points": (Lot("9", "points", 25, None, 9), Lot("8", "points", 25, 10, 8))},
    )
    assert account_problems(unordered) == ["acme:ann points: lots are not in spending order"]


def test_held_and_holds_must_agree(programs: Programs) -> None:
    books, state, _ = _books(programs)
    tampered = replace(state, balances={"points": Balance("points", 50, 31)})
    assert account_problems(tampered) == ["acme:ann points: open holds sum to 30, held is 31"]
    books.postings[("acme", "points", "@holds")] += 1
    books.postings[("acme", "points", "@issuance")] -= 1
    assert books.problems() == ["@holds of acme points is 31, accounts hold 30"]


def test_an_event_out_of_sequence_or_unbalanced_is_named(programs: Programs) -> None:
    books, state, _ = _books(programs)
    event = decide(state, _request("ann", "a2", Operation.ACCRUE, 1), 0, programs).event
    skipped = replace(event, sequence=event.sequence + 1)
    assert books.add(skipped) == [f"{skipped.event_id}: APPLIED at sequence 5, the account is at 3"]
    unbalanced = replace(event, postings=(Posting("ann", "points", 1),))
    assert books.add(unbalanced) == [f"{event.event_id}: postings of points sum to 1"]
    assert "trial balance of acme points is 1, not 0" in books.problems()


def test_an_event_that_cannot_be_folded_is_named_not_raised(programs: Programs) -> None:
    books, state, _ = _books(programs)
    event = decide(state, _request("ann", "r1", Operation.RELEASE, 0, reference="h1"), 0, programs)
    broken = replace(event.event, holds_closed=("nothing",))
    (problem,) = books.add(broken)
    assert "cannot be folded" in problem


def test_two_legs_settling_one_transfer_are_named_even_when_tolerated(
    programs: Programs,
) -> None:
    # Read before their debit (another region's copy, behind): each early leg may still meet
    # it, but two legs for one transfer never can both settle it.
    accrued = decide(None, _request("ann", "a1", Operation.ACCRUE, 100), 0, programs)
    moved = decide(
        accrued.state,
        _request("ann", "t1", Operation.TRANSFER, 20, counterparty_account_id="bob"),
        0,
        programs,
    )
    (credit,) = moved.emitted
    first = decide(None, credit, 0, programs, Channel.SYSTEM)
    replayed = decide(None, credit, 0, programs, Channel.SYSTEM)  # as a second bob would see it
    books = Books()
    assert books.add(first.event) == []

    problems = books.add(replace(replayed.event, account_id="bob2"))

    assert problems == [
        "acme:bob:1: credit:ann:2 settles acme:ann:2 points, which acme:bob:1 settles already"
    ]
    # Tolerated while its debit may still come, the first leg is counted as in flight; the
    # second's value is not, and the sums say so.
    problems = books.problems(frozenset(books.early))
    assert "@transit of acme points is -40, transfers in flight carry -20" in problems


def test_an_install_over_a_live_account_is_named(programs: Programs) -> None:
    accrued = decide(None, _request("ann", "a1", Operation.ACCRUE, 100), 0, programs)
    handoff = Request("m1", "acme", "ann", Operation.HANDOFF, "", to_region="us", requested_at_ms=0)
    moved = decide(accrued.state, handoff, 0, programs, Channel.OPERATOR)
    (install,) = moved.emitted
    installed = decide(None, install, 0, programs, Channel.SYSTEM)
    books = Books()
    for event in (accrued.event, moved.event):
        assert books.add(event) == []
    arrived = Books()
    assert arrived.add(installed.event) == []

    # The same INSTALL folded again, as a journal written twice (or tampered with) would have
    # it: it continues the carried sequence, so only the account's life here can name it.
    problems = arrived.add(installed.event)

    assert problems[0] == (
        "acme:ann:3: INSTALL of install:ann:2 over an account that lives here (at sequence 3)"
    )
