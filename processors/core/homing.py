"""Where a request is decided when the ledger has regions: here, or at the account's home.

Only the home decides an account. The core finds it in this order:
1. an INSTALL is decided in the region it names (it brings the account there);
2. the account's state here: a live account lives here, a stub left by a HANDOFF names its
   new home (ledger/moves.py). State is read inside the core's transaction, so a request
   behind a HANDOFF in a partition is never decided by the old home;
3. no state: the directory (processors/regions/directory.py; accounts that moved), else the
   program's placement (config/placement.toml; accounts that never moved). A directory
   entry saying the account moved *here* while its INSTALL has not arrived yet sends the
   request back to where it came from, which sends it here again: deciding it now would
   start the account afresh.
Every hop between regions is counted on the record (HOPS_HEADER); a request still homeless
after HOPS_MAX hops (a placement file that differs between regions, an INSTALL lost to a
bug) goes to the dead letters with its reason instead of circling forever. So does one whose
home is no region of this deployment (`knows`): no relay would ever take it from the outbox.

The core writes the directory itself: the new home at a HANDOFF, confirmed at the INSTALL,
and notes it in its view once the transaction that wrote it has committed.
"""

from __future__ import annotations

from typing import Protocol

from ledger.model import AccountState, LedgerEvent, Operation, Request, Status
from ledger.placement import Homes
from ledger.reasons import Reason
from schemas.directory import DirectoryEntry

HOPS_HEADER = "ledger.hops"
HOPS_MAX = 16
"""A request that reaches the new home before its INSTALL goes back and forth (two hops per
round trip) until the INSTALL lands; a MirrorMaker 2 restart or a burst can hold the INSTALL
back for several round trips, and dead-lettering a request that would have found its home
costs more than a few more trips."""


class Directory(Protocol):
    def get(self, key: bytes) -> DirectoryEntry | None: ...
    def note(self, key: bytes, entry: DirectoryEntry) -> None: ...


class Homing:
    def __init__(self, homes: Homes, directory: Directory | None = None) -> None:
        self.homes = homes
        self.here = homes.here
        self.directory = directory

    def destination(self, state: AccountState | None, key: bytes, request: Request) -> str:
        """The region that decides `request` (`self.here` to decide it now)."""
        if request.operation is Operation.INSTALL:
            return request.to_region
        if state is not None:
            return state.moved_to or self.here
        entry = self.directory.get(key) if self.directory is not None else None
        if entry is None:
            return self.homes.home_of(request.program, request.account_id)
        if entry.home == self.here:
            # Moved here and not arrived yet: back where it came from. (No state although it
            # arrived would be a lost state: deciding here is all that is left.)
            return entry.previous or self.here
        return entry.home

    def note(self, key: bytes, entry: DirectoryEntry) -> None:
        if self.directory is not None:
            self.directory.note(key, entry)

    def knows(self, region: str) -> bool:
        """Is `region` one of the deployment's (a relay there takes what is sent to it)?"""
        return region in self.homes.regions

    def refusal(self, request: Request) -> Reason | None:
        """A HANDOFF to no region of the deployment, or to here: nothing to move."""
        if request.operation is not Operation.HANDOFF:
            return None
        target = request.to_region
        if target == self.here or target not in self.homes.regions:
            return Reason.REGION_UNKNOWN
        return None

    def entry(self, event: LedgerEvent) -> DirectoryEntry | None:
        """The directory entry an applied HANDOFF or INSTALL writes."""
        request = event.request
        if event.status is not Status.APPLIED:
            return None
        if request.operation is Operation.HANDOFF:
            return DirectoryEntry(
                request.to_region, event.epoch + 1, self.here, event.sequence, event.processed_at_ms
            )
        if request.operation is Operation.INSTALL:
            return DirectoryEntry(
                self.here, event.epoch, "", event.sequence - 1, event.processed_at_ms
            )
        return None


def refuse_without_regions(request: Request) -> Reason | None:
    """Without regions there is nowhere to move to."""
    return Reason.REGION_UNKNOWN if request.operation is Operation.HANDOFF else None


def hops_of(value: bytes | None) -> int:
    """The hops a record has made between regions (absent or unreadable: none)."""
    try:
        return max(0, int(value or b"0"))
    except ValueError:
        return 0
