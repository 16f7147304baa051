"""Where an account's event stream is: SSE ids from the account sequence, and resuming.

Every event of an account carries the account sequence after it; an APPLIED event moves it on,
a REJECTED or DUPLICATE one leaves it where it was. So the id of an event is
`{sequence}.{index}`: index 0 for the event that reached the sequence (or the first event at
it), 1, 2 ... for the rejections and duplicates that followed at the same sequence.
`Last-Event-ID: 15` (a bare sequence, as a balance read shows it) means `15.0`.

Resuming reads the account's bounded history in Redis (LEDGER_MIRROR_HISTORY_MAX entries):
everything after the client's position is sent again, exactly, while that position is still
covered by the history. When it is not (the client was away longer than the history reaches,
or the oldest entry kept is a rejection whose run may have been cut), the stream says
`event: reset` and sends the history it has: the client must re-read the balance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from readmodel.history import HistoryEntry

_ID = re.compile(r"(\d{1,18})(?:\.(\d{1,9}))?")


class MalformedEventId(ValueError):
    """A Last-Event-ID that is not `{sequence}` or `{sequence}.{index}`."""


@dataclass(frozen=True, order=True, slots=True)
class Position:
    sequence: int
    index: int

    def __str__(self) -> str:
        return f"{self.sequence}.{self.index}"

    @classmethod
    def parse(cls, text: str) -> Position:
        match = _ID.fullmatch(text.strip())
        if match is None:
            raise MalformedEventId(f"Last-Event-ID must be SEQUENCE or SEQUENCE.INDEX: {text!r}")
        return cls(int(match.group(1)), int(match.group(2) or 0))

    def after(self, entry: HistoryEntry) -> Position:
        """The position of `entry`, the event that follows this one."""
        if entry.sequence == self.sequence:
            return Position(self.sequence, self.index + 1)
        return Position(entry.sequence, 0)


def numbered(oldest_first: Iterable[HistoryEntry]) -> list[tuple[Position, HistoryEntry]]:
    """Each entry with its position."""
    found: list[tuple[Position, HistoryEntry]] = []
    for entry in oldest_first:
        position = found[-1][0].after(entry) if found else Position(entry.sequence, 0)
        found.append((position, entry))
    return found


@dataclass(frozen=True, slots=True)
class Resume:
    send: list[tuple[Position, HistoryEntry]]
    reset: bool
    """The client's position is no longer covered: it gets what is kept, after a reset."""
    last: Position | None
    """The position of the newest entry kept, None when there is none."""


def resume(oldest_first: Sequence[HistoryEntry], last: Position | None) -> Resume:
    """What a stream starting after `last` sends from the history (None: only new events)."""
    kept = numbered(oldest_first)
    newest = kept[-1][0] if kept else None
    if last is None or not kept:
        return Resume([], False, newest)
    oldest_position, oldest = kept[0]
    run_may_be_cut = oldest.status != "APPLIED" and last.sequence == oldest.sequence
    if last < oldest_position or run_may_be_cut:
        return Resume(kept, True, newest)
    return Resume([(p, e) for p, e in kept if p > last], False, newest)
