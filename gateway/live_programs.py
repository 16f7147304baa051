"""The programs as this gateway process knows them now, and the door to change them.

Routes read `ProcessState.programs` like a mapping; behind it is the process's feed of the
programs topic (schemas/program_feed.py), so a program created or changed through any gateway
is served by every gateway without a restart. Tests and tools may give fixed programs
instead: they read the same way, and cannot be changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping

from gateway.problems import GatewayError
from ledger.program_changes import ProgramCatalogue, ProgramVersion
from ledger.programs import Program, ProgramSource
from schemas.program_feed import ProgramFeedError
from schemas.program_writer import Change, ProgramWriter


class LivePrograms(Mapping[str, Program]):
    def __init__(
        self,
        source: ProgramSource,
        catalogue: ProgramCatalogue | None = None,
        writer: ProgramWriter | None = None,
    ) -> None:
        self._source = source
        self.catalogue = catalogue
        self._writer = writer

    def __getitem__(self, name: str) -> Program:
        return self._source.programs()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._source.programs())

    def __len__(self) -> int:
        return len(self._source.programs())

    async def catch_up(self) -> Mapping[str, Program]:
        """The programs once every change made before this call is known (a key only asks
        for this about a program it is bound to, so strangers cannot make it read Kafka)."""
        try:
            return await asyncio.to_thread(self._source.catch_up)
        except ProgramFeedError as error:
            raise GatewayError("unavailable", f"programs cannot be read: {error}") from error

    def known(self) -> ProgramCatalogue:
        if self.catalogue is None:
            raise GatewayError("unavailable", "this process serves fixed programs")
        return self.catalogue

    async def change(self, change: Change) -> ProgramVersion | None:
        if self._writer is None:
            raise GatewayError("unavailable", "this process serves fixed programs")
        return await asyncio.to_thread(self._writer.write, change)
