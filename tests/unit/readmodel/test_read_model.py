"""The read model's contract: outcome messages, the script's arguments, stored balances,
totals and history read back, keys that never alias."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.model import (
    Balance,
    LedgerEvent,
    Operation,
    Posting,
    Request,
    Status,
)
from readmodel.history import history_entry_to_json
from readmodel.keys import (
    MalformedOutcome,
    outcome_channel,
    outcome_to_json,
    parse_outcome,
    request_suffix,
)
from readmodel.projection import event_outcome, history_entry, script_argument
from readmodel.reader import parse_balances, parse_history, parse_totals

BIG = 2**62 + 1  # beyond a double's exact integers: must survive every hop


def _event(sequence: int = 3, status: Status = Status.APPLIED) -> LedgerEvent:
    return LedgerEvent(
        event_id=f"acme:alice:{sequence}",
        program="acme",
        account_id="alice",
        sequence=sequence,
        status=status,
        reason=None,
        original_sequence=None,
        processed_at_ms=1_700_000_000_123,
        content_hash="h",
        request=Request("r1", "acme", "alice", Operation.ACCRUE, "points", BIG),
        postings=(Posting("@issuance", "points", -BIG), Posting("alice", "points", BIG)),
        balances=(Balance("points", BIG, 0),),
    )


def test_an_outcome_survives_the_channel_exactly() -> None:
    outcome = event_outcome(_event())
    assert parse_outcome(outcome_to_json(outcome)) == outcome
    assert parse_outcome(outcome_to_json(outcome).encode()).balances[0].available == BIG
    assert outcome_channel("rl:") == "rl:outcomes"


@pytest.mark.parametrize("message", ["", "{}", '{"program": 1}', "[1]"])
def test_a_malformed_outcome_is_refused(message: str) -> None:
    with pytest.raises(MalformedOutcome):
        parse_outcome(message)


def test_the_script_gets_amounts_as_strings() -> None:
    argument = script_argument(_event(), offset=41)
    assert f'"{BIG}"' in argument and '"o":41' in argument
    rejected = script_argument(_event(status=Status.REJECTED), offset=42)
    assert '"b":[]' in rejected and '"ps":[]' in rejected


def test_stored_balances_and_totals_read_back() -> None:
    balances = parse_balances(
        {b"points.available": b"70", b"points.held": b"5", b"_sequence": b"4", b"x.y.held": b"1"}
    )
    assert [(b.asset, b.available, b.held, b.sequence) for b in balances] == [
        ("points", 70, 5, 4),
        ("x.y", 0, 1, 4),
    ]
    totals = parse_totals(
        {
            "points|@issuance": "-150",
            "points|@redemptions": "30",
            "points|@holds": "5",
            "points|customers": "115",
        }
    )["points"]
    assert (totals.issued, totals.redeemed, totals.held, totals.outstanding) == (150, 30, 5, 120)


def test_history_pages_backwards_by_sequence() -> None:
    raw = [history_entry_to_json(history_entry(_event(s))) for s in (5, 4, 3, 2, 1)]
    assert [e.sequence for e in parse_history(raw, None, 2)] == [5, 4]
    assert [e.sequence for e in parse_history(raw, 4, 2)] == [3, 2]


@given(st.text(max_size=8), st.text(max_size=8), st.text(max_size=8), st.text(max_size=8))
def test_key_parts_never_alias(account: str, request: str, other: str, other_request: str) -> None:
    """Whatever the ids hold (`:` and `%` included), two requests share a key only if they
    are the same (account, request)."""
    same = request_suffix("acme", account, request) == request_suffix("acme", other, other_request)
    assert same == ((account, request) == (other, other_request))
