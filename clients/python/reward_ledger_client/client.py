"""`LedgerClient`: the API from synchronous code.

    with LedgerClient("http://127.0.0.1:8080", api_key) as ledger:
        outcome = ledger.accrue("acme", "ann", "points", 120)
        ledger.redeem("acme", "ann", "cashback_eur", Decimal("2.50"))

Every write carries a request id (generated when not given) also sent as Idempotency-Key, so
the client's own retries (connection errors, 429 and 503, honouring Retry-After) apply it
once. A 422 raises `Rejected` with the reason code; other problems their own `LedgerError`.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
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


class LedgerClient(Operations[Outcome], ProgramAdmin[ProgramVersion, list[ProgramVersion]]):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 35.0,
        retries: int = 4,
        backoff_s: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.backoff_s = backoff_s
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
            transport=transport,
        )

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(self, program: str, body: Mapping[str, Any], wait: bool = True) -> Outcome:
        """Any transaction body (the API's JSON); `wait=False` answers PENDING at once."""
        return self._send(protocol.submit(program, body, wait))

    def batch(self, program: str, bodies: list[Mapping[str, Any]]) -> list[BatchItem]:
        return self._send(protocol.batch(program, bodies))

    # --- reads ----------------------------------------------------------------------------

    def balances(self, program: str, account_id: str) -> AccountBalances:
        return self._send(protocol.balances(program, account_id))

    def history(
        self, program: str, account_id: str, limit: int = 20, before_sequence: int | None = None
    ) -> HistoryPage:
        return self._send(protocol.history(program, account_id, limit, before_sequence))

    def request_status(self, program: str, account_id: str, request_id: str) -> Outcome:
        return self._send(protocol.request_status(program, account_id, request_id))

    def qualifying_points(self, program: str, account_id: str) -> QualifyingPoints:
        """Points earned over the last 12 months (needs the qualifying_points extension)."""
        return self._send(protocol.qualifying_points(program, account_id))

    def totals(self, program: str) -> list[AssetTotals]:
        return self._send(protocol.totals(program))

    def dashboard(self) -> dict[str, Any]:
        return self._send(protocol.dashboard())

    def problem(self, code: str) -> dict[str, Any]:
        return self._send(protocol.problem(code))

    def healthy(self) -> bool:
        return self._send(protocol.health("/healthz"))

    def ready(self) -> bool:
        return self._send(protocol.health("/readyz"))

    def events(
        self, program: str, account_id: str, last_event_id: str | None = None
    ) -> Generator[StreamEvent, None, None]:
        """The account's live outcomes (Server-Sent Events) until the server ends the stream;
        resume after an event with `last_event_id=event.id`."""
        call = protocol.events(program, account_id, last_event_id)
        # The server sends a comment every 15 s: a read silent for 45 s is a dead connection.
        timeout = httpx.Timeout(self._http.timeout.connect, read=STREAM_READ_TIMEOUT_S)
        with self._http.stream("GET", call.path, headers=call.headers, timeout=timeout) as answer:
            if answer.status_code >= 400:
                answer.read()
                raise protocol.error_of(answer)
            parser = protocol.EventParser()
            for line in answer.iter_lines():
                event = parser.line(line)
                if event is not None:
                    yield event

    # --- sending --------------------------------------------------------------------------

    def _send_version(self, call: Call[ProgramVersion]) -> ProgramVersion:
        return self._send(call)

    def _send_versions(self, call: Call[list[ProgramVersion]]) -> list[ProgramVersion]:
        return self._send(call)

    def _send(self, call: Call[T]) -> T:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=call.headers
                )
            except httpx.TransportError:
                if last:
                    raise
                time.sleep(protocol.retry_delay(None, attempt, self.backoff_s))
                continue
            if protocol.retried(call, response) and not last:
                time.sleep(protocol.retry_delay(response, attempt, self.backoff_s))
                continue
            return protocol.answer(call, response)
        raise AssertionError("unreachable")
