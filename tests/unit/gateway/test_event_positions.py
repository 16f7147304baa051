"""SSE ids from account sequences, and what a stream resumed after an id sends again."""

from __future__ import annotations

import pytest

from gateway.event_positions import MalformedEventId, Position, numbered, resume
from readmodel.history import HistoryEntry


def entry(sequence: int, status: str = "APPLIED", n: int = 0) -> HistoryEntry:
    return HistoryEntry(
        sequence,
        f"e{sequence}-{status}-{n}",
        f"r{sequence}-{n}",
        "ACCRUE",
        status,
        None,
        "points",
        1,
        (),
        0,
    )


HISTORY = [entry(1), entry(2), entry(2, "REJECTED", 1), entry(2, "DUPLICATE", 2), entry(3)]


def test_ids_count_the_events_at_one_sequence() -> None:
    assert [str(p) for p, _ in numbered(HISTORY)] == ["1.0", "2.0", "2.1", "2.2", "3.0"]
    assert Position.parse("2") == Position(2, 0) and Position.parse(" 2.1 ") == Position(2, 1)
    for bad in ("", "x", "2.", "-1", "2.1.1", "9" * 19):
        with pytest.raises(MalformedEventId):
            Position.parse(bad)


def test_a_resumed_stream_sends_exactly_what_follows_the_position() -> None:
    sent = resume(HISTORY, Position(2, 1))
    assert not sent.reset and [str(p) for p, _ in sent.send] == ["2.2", "3.0"]
    assert str(sent.last) == "3.0"
    assert [str(p) for p, _ in resume(HISTORY, Position(2, 0)).send] == ["2.1", "2.2", "3.0"]
    assert resume(HISTORY, Position(3, 0)).send == []
    assert resume(HISTORY, None).send == []  # a new stream: only what comes next


def test_a_position_the_history_no_longer_covers_is_a_reset() -> None:
    trimmed = HISTORY[2:]  # begins with a rejection: its run at sequence 2 may be cut
    behind = resume(trimmed, Position(2, 0))
    assert behind.reset and len(behind.send) == 3
    assert resume(HISTORY[1:], Position(0, 0)).reset  # older than anything kept
    assert not resume(HISTORY[1:], Position(2, 0)).reset
