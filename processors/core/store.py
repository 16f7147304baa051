"""In-memory state of the partitions this processor owns, with undo for aborted batches.

One `PartitionStore` per owned partition: account key -> `AccountState`, plus a timer index
(a heap of `(due_ms, key)`) so timers cost O(log n) per account rather than a scan. An entry
is pushed only when it is earlier than the one already scheduled for the account, which keeps
the heap near one entry per account with timers; entries are checked against the state when
popped, so a stale one costs a little work, never a wrong or a lost timer.

States are immutable values, so undo is cheap: the first time a batch touches an account the
store remembers the previous value; `rollback()` puts them back after an abort, `seal()`
forgets them after a commit.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from typing import Protocol

from ledger.model import AccountState
from ledger.timers import next_due_ms

_ABSENT = None


class StateStore(Protocol):
    """What the core needs of one owned partition's state: this memory store, or the disk
    store (diskstore.py), which also keeps a checkpoint of the changelog it reflects."""

    partition: int

    def __len__(self) -> int: ...
    def get(self, key: bytes) -> AccountState | None: ...
    def peek(self, key: bytes) -> AccountState | None:
        """As `get`, for a restore: without making the account look recently used."""
        ...

    def load(self, key: bytes, state: AccountState | None) -> None: ...
    def put(self, key: bytes, state: AccountState) -> None: ...
    def touched(self) -> Iterator[tuple[bytes, AccountState]]: ...
    def seal(self, checkpoint: Mapping[str, int] | None = None) -> None: ...
    def rollback(self) -> int: ...
    def pop_due(self, now_ms: int) -> list[bytes]: ...
    def retry_timers(self, key: bytes, at_ms: int) -> None: ...
    def checkpoint(self) -> dict[str, int]: ...
    def checkpointed_at_ms(self) -> int | None: ...
    def wipe(self) -> None: ...
    def close(self) -> None: ...


class PartitionStore:
    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.accounts: dict[bytes, AccountState] = {}
        self._timers: list[tuple[int, bytes]] = []
        self._scheduled: dict[bytes, int] = {}
        self._before: dict[bytes, AccountState | None] = {}

    def __len__(self) -> int:
        return len(self.accounts)

    def get(self, key: bytes) -> AccountState | None:
        return self.accounts.get(key)

    def peek(self, key: bytes) -> AccountState | None:
        return self.accounts.get(key)

    def load(self, key: bytes, state: AccountState | None) -> None:
        """Set restored state (outside any batch): no undo is recorded."""
        if state is None:
            self.accounts.pop(key, None)
            return
        self.accounts[key] = state
        self._schedule(key, state)

    def put(self, key: bytes, state: AccountState) -> None:
        """Set state decided in the open batch."""
        if key not in self._before:
            self._before[key] = self.accounts.get(key, _ABSENT)
        self.accounts[key] = state
        self._schedule(key, state)

    def touched(self) -> Iterator[tuple[bytes, AccountState]]:
        """Accounts changed in the open batch, with their latest state."""
        for key in self._before:
            yield key, self.accounts[key]

    def seal(self, checkpoint: Mapping[str, int] | None = None) -> None:
        """Forget the batch's undo (memory holds no checkpoint: a restart restores it all)."""
        self._before.clear()

    def checkpoint(self) -> dict[str, int]:
        return {}

    def checkpointed_at_ms(self) -> int | None:
        return None

    def wipe(self) -> None:
        self.accounts.clear()
        self._timers.clear()
        self._scheduled.clear()
        self._before.clear()

    def close(self) -> None:
        """Nothing to release."""

    def rollback(self) -> int:
        """Undo the open batch; returns how many accounts were put back."""
        restored = len(self._before)
        for key, previous in self._before.items():
            if previous is None:
                self.accounts.pop(key, None)
            else:
                self.accounts[key] = previous
                # Timers popped during the aborted batch must come back.
                self._schedule(key, previous)
        self._before.clear()
        return restored

    def pop_due(self, now_ms: int) -> list[bytes]:
        """Keys whose earliest timer is due at `now_ms` (each once, stale entries dropped)."""
        due: list[bytes] = []
        while self._timers and self._timers[0][0] <= now_ms:
            entry_due, key = heapq.heappop(self._timers)
            if self._scheduled.get(key) != entry_due:
                continue  # superseded by an earlier entry that was handled already
            del self._scheduled[key]
            state = self.accounts.get(key)
            if state is None:
                continue
            state_due = next_due_ms(state)
            if state_due is not None and state_due <= now_ms:
                due.append(key)
            elif state_due is not None:
                self._schedule(key, state)
        return due

    def retry_timers(self, key: bytes, at_ms: int) -> None:
        """Fire the account's due timers again at `at_ms` (their decision did not apply)."""
        scheduled = self._scheduled.get(key)
        if scheduled is None or at_ms < scheduled:
            self._scheduled[key] = at_ms
            heapq.heappush(self._timers, (at_ms, key))

    def _schedule(self, key: bytes, state: AccountState) -> None:
        due = next_due_ms(state)
        if due is None:
            return
        scheduled = self._scheduled.get(key)
        if scheduled is None or due < scheduled:
            self._scheduled[key] = due
            heapq.heappush(self._timers, (due, key))
