"""A restore reads a changelog partition only once no transaction is open on it."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from processors.core.changelog import wait_settled
from processors.reading import ReadTimeout


class Markers:
    """Ends as the broker reports them while a previous owner's commit markers land late."""

    def __init__(self, answers: list[dict[int, tuple[int, int]]]) -> None:
        self.answers = answers
        self.asked = 0

    def ends(self, topic: str, partitions: Iterable[int]) -> dict[int, tuple[int, int]]:
        assert topic == "t.state-changelog"
        self.asked += 1
        answer = self.answers[min(self.asked, len(self.answers)) - 1]
        return {p: answer[p] for p in partitions}


def test_waits_until_every_partition_is_settled() -> None:
    markers = Markers(
        [
            {0: (40, 42), 3: (7, 7)},  # partition 0: a transaction's states, marker not yet
            {0: (40, 42), 3: (7, 9)},  # partition 3: another one begins
            {0: (43, 43), 3: (10, 10)},  # both committed, markers written
        ]
    )
    wait_settled(markers, "t.state-changelog", [0, 3], timeout_s=5)
    assert markers.asked == 3


def test_a_transaction_that_stays_open_is_a_timeout_not_a_partial_restore() -> None:
    markers = Markers([{1: (5, 9)}])
    with pytest.raises(ReadTimeout, match=r"partitions \[1\] still have an open transaction"):
        wait_settled(markers, "t.state-changelog", [1], timeout_s=0.2)
