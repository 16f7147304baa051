"""@transit across regions: each region's half of a transfer is explained by the other's, and
what no region explains is named."""

from __future__ import annotations

from msgspec.structs import replace

from ledger.decide import decide
from ledger.invariants import Books
from ledger.model import AccountState, Channel, Operation, Request
from ledger.programs import Programs
from ledger.transit import reconcile


def _request(account: str, request_id: str, operation: Operation, amount: int) -> Request:
    return Request(
        request_id,
        "acme",
        account,
        operation,
        "points",
        amount,
        counterparty_account_id="us-bob" if operation is Operation.TRANSFER else None,
        requested_at_ms=0,
    )


def _halves(programs: Programs, amount: int = 20) -> tuple[Books, Books, Request]:
    """ann (eu) transfers `amount` to us-bob (us): eu's books hold the debit, us's the credit."""
    eu, us = Books(), Books()
    accrued = decide(None, _request("ann", "a1", Operation.ACCRUE, 100), 0, programs)
    moved = decide(accrued.state, _request("ann", "t1", Operation.TRANSFER, amount), 0, programs)
    assert eu.add(accrued.event) == [] and eu.add(moved.event) == []
    (credit,) = moved.emitted
    assert us.add(decide(None, credit, 0, programs, Channel.SYSTEM).event) == []
    return eu, us, credit


def test_each_region_alone_looks_wrong_and_together_they_reconcile(programs: Programs) -> None:
    eu, us, _ = _halves(programs)
    # Alone, us has a credit nobody debited and a negative @transit.
    assert us.problems() == [
        "acme:us-bob:1: credit:ann:2 settles no transfer",
        "@transit of acme points is negative: -20",
    ]
    reconciled = reconcile({"eu": eu, "us": us})
    assert reconciled.problems == []
    assert reconciled.settled_for_others == {"eu": frozenset(), "us": frozenset(us.early)}
    for region, book in (("eu", eu), ("us", us)):
        assert book.problems(reconciled.settled_for_others[region]) == []
    figures = reconciled.figures[("acme", "points")]
    assert (figures["eu"].book, figures["eu"].settled_elsewhere["us"]) == (20, 20)
    assert (figures["us"].book, figures["us"].settled_for["eu"]) == (-20, 20)
    assert all(region.explained() == region.book for region in figures.values())
    assert reconciled.global_book(("acme", "points")) == 0
    assert reconciled.global_in_flight(("acme", "points")) == 0


def test_a_transfer_not_settled_yet_is_in_flight_in_its_region(programs: Programs) -> None:
    eu, _, _ = _halves(programs)
    reconciled = reconcile({"eu": eu, "us": Books()})
    assert reconciled.problems == []
    assert reconciled.figures[("acme", "points")]["eu"].in_flight == 20
    assert reconciled.global_book(("acme", "points")) == 20


def test_a_transfer_settled_in_two_regions_is_named(programs: Programs) -> None:
    eu, us, credit = _halves(programs)
    again = Books()
    assert again.add(decide(None, credit, 0, programs, Channel.SYSTEM).event) == []
    reconciled = reconcile({"eu": eu, "us": us, "in": again})
    assert reconciled.problems == [
        "acme:us-bob:1: credit:ann:2 settles t1 of eu, already settled in us",
        "@transit of acme points across regions is negative: -20",
        "acme:us-bob was decided in in and us at epoch 0 (two homes)",
    ]
    # ... and the second region's own check names its leg as settling nothing.
    assert again.problems(reconciled.settled_for_others["in"]) != []


def test_a_leg_of_another_amount_is_named(programs: Programs) -> None:
    eu, _, credit = _halves(programs)
    us = Books()
    forged = replace(credit, amount=25, carried_lots=(replace(credit.carried_lots[0], amount=25),))
    assert us.add(decide(None, forged, 0, programs, Channel.SYSTEM).event) == []
    reconciled = reconcile({"eu": eu, "us": us})
    assert reconciled.problems[0] == (
        "acme:us-bob:1: credit:ann:2 moves 25 points in us, its transfer t1 of eu 20 points"
    )
    assert reconciled.problems[1:] == [
        "@transit of acme points across regions is negative: -5",
        "@transit of acme points across regions is -5, transfers in flight carry 0",
    ]


def test_a_leg_no_region_debited_is_tolerated_only_when_asked(programs: Programs) -> None:
    _, us, _ = _halves(programs)
    reconciled = reconcile({"eu": Books(), "us": us})
    assert reconciled.problems == ["@transit of acme points across regions is negative: -20"]
    assert reconcile({"eu": Books(), "us": us}, frozenset(us.early)).problems == []


def _moved(programs: Programs) -> tuple[Books, Books, AccountState]:
    """ann, homed in eu, holds and moves to us: eu's books hand over, us's install."""
    eu, us = Books(), Books()
    accrued = decide(None, _request("ann", "a1", Operation.ACCRUE, 100), 0, programs)
    held = decide(accrued.state, _request("ann", "h1", Operation.HOLD, 30), 0, programs)
    move = replace(_request("ann", "m1", Operation.HANDOFF, 0), asset="", to_region="us")
    handoff = decide(held.state, move, 0, programs, Channel.OPERATOR)
    for decision in (accrued, held, handoff):
        assert eu.add(decision.event) == []
    (install,) = handoff.emitted
    arrived = decide(None, install, 0, programs, Channel.SYSTEM)
    assert us.add(arrived.event) == []
    return eu, us, arrived.state


def test_a_move_is_handed_over_and_installed_across_regions(programs: Programs) -> None:
    eu, us, ann = _moved(programs)
    assert (ann.sequence, ann.epoch, ann.balances["points"].available) == (4, 1, 70)
    reconciled = reconcile({"eu": eu, "us": us})
    assert reconciled.problems == []
    for region, book in (("eu", eu), ("us", us)):
        assert book.problems(reconciled.settled_for_others[region]) == [], region
    figures = reconciled.figures[("acme", "points")]
    assert (figures["eu"].book, figures["us"].book) == (100, -100)
    assert reconciled.global_book(("acme", "points")) == 0


def test_an_account_decided_in_two_regions_in_one_epoch_is_named(programs: Programs) -> None:
    eu, us, _ = _moved(programs)
    assert reconcile({"eu": eu, "us": us}).problems == []  # epoch 0 in eu, 1 in us
    # A region that decided for ann in epoch 0 although eu was its home: two homes.
    intruder = Books()
    accrued = decide(None, _request("ann", "x1", Operation.ACCRUE, 5), 0, programs)
    assert intruder.add(accrued.event) == []
    assert reconcile({"eu": eu, "us": us, "in": intruder}).problems == [
        "acme:ann was decided in eu and in at epoch 0 (two homes)"
    ]
