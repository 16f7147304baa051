"""`AsyncLedgerClient`: the API from asyncio code, with the sync client's behaviour.

async with AsyncLedgerClient("http://127.0.0.1:8080", api_key) as ledger:
    outcome = await ledger.accrue("acme", "ann", "points", 120)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Mapping
from typing import Any, TypeVar

import httpx

from reward_ledger_client import protocol
from reward_ledger_client.models import (
    AccountBalances,
    AssetTotals,
    BatchItem,
    HistoryPage,
    Outcome,
    ProgramVersion,
    QualifyingPoints,
)
from reward_ledger_client.operations import Operations
from reward_ledger_client.program_admin import ProgramAdmin
from reward_ledger_client.protocol import Call, StreamEvent

T = TypeVar("T")
STREAM_READ_TIMEOUT_S = 45.0


class AsyncLedgerClient(
    Operations[Awaitable[Outcome]],
    ProgramAdmin[Awaitable[ProgramVersion], Awaitable[list[ProgramVersion]]],
):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 35.0,
        retries: int = 4,
        backoff_s: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.backoff_s = backoff_s
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncLedgerClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def submit(
        self, program: str, body: Mapping[str, Any], wait: bool = True
    ) -> Awaitable[Outcome]:
        """Any transaction body (the API's JSON); `wait=False` answers PENDING at once."""
        return self._send(protocol.submit(program, body, wait))

    async def batch(self, program: str, bodies: list[Mapping[str, Any]]) -> list[BatchItem]:
        return await self._send(protocol.batch(program, bodies))

    async def balances(self, program: str, account_id: str) -> AccountBalances:
        return await self._send(protocol.balances(program, account_id))

    async def history(
        self, program: str, account_id: str, limit: int = 20, before_sequence: int | None = None
    ) -> HistoryPage:
        return await self._send(protocol.history(program, account_id, limit, before_sequence))

    async def request_status(self, program: str, account_id: str, request_id: str) -> Outcome:
        return await self._send(protocol.request_status(program, account_id, request_id))

    async def qualifying_points(self, program: str, account_id: str) -> QualifyingPoints:
        """Points earned over the last 12 months (needs the qualifying_points extension)."""
        return await self._send(protocol.qualifying_points(program, account_id))

    async def totals(self, program: str) -> list[AssetTotals]:
        return await self._send(protocol.totals(program))

    async def dashboard(self) -> dict[str, Any]:
        return await self._send(protocol.dashboard())

    async def problem(self, code: str) -> dict[str, Any]:
        return await self._send(protocol.problem(code))

    async def healthy(self) -> bool:
        return await self._send(protocol.health("/healthz"))

    async def ready(self) -> bool:
        return await self._send(protocol.health("/readyz"))

    async def events(
        self, program: str, account_id: str, last_event_id: str | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """The account's live outcomes (Server-Sent Events); see LedgerClient.events."""
        call = protocol.events(program, account_id, last_event_id)
        # The server sends a comment every 15 s: a read silent for 45 s is a dead connection.
        timeout = httpx.Timeout(self._http.timeout.connect, read=STREAM_READ_TIMEOUT_S)
        async with self._http.stream(
            "GET", call.path, headers=call.headers, timeout=timeout
        ) as answer:
            if answer.status_code >= 400:
                await answer.aread()
                raise protocol.error_of(answer)
            parser = protocol.EventParser()
            async for line in answer.aiter_lines():
                event = parser.line(line)
                if event is not None:
                    yield event

    def _send_version(self, call: Call[ProgramVersion]) -> Awaitable[ProgramVersion]:
        return self._send(call)

    def _send_versions(self, call: Call[list[ProgramVersion]]) -> Awaitable[list[ProgramVersion]]:
        return self._send(call)

    async def _send(self, call: Call[T]) -> T:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=call.headers
                )
            except httpx.TransportError:
                if last:
                    raise
                await asyncio.sleep(protocol.retry_delay(None, attempt, self.backoff_s))
                continue
            if protocol.retried(call, response) and not last:
                await asyncio.sleep(protocol.retry_delay(response, attempt, self.backoff_s))
                continue
            return protocol.answer(call, response)
        raise AssertionError("unreachable")
