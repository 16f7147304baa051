"""The API's calls, built and read without any I/O: the sync and async clients only send them.

`ENDPOINTS` lists every operation of the API this client covers (method, path); a contract test
compares it with the live OpenAPI document, so a new endpoint without a client method fails CI.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from reward_ledger_client.errors import LedgerError, error_for
from reward_ledger_client.models import (
    AccountBalances,
    AssetTotals,
    BatchItem,
    HistoryPage,
    Outcome,
    QualifyingPoints,
)

T = TypeVar("T")
Amount = int | Decimal | str
"""int: minor units (150 = 1.50 with scale 2); Decimal or str: major units ("1.50"), exact."""

ENDPOINTS: Mapping[tuple[str, str], str] = {
    ("POST", "/v1/programs/{program}/transactions"): "accrue, redeem, hold, capture, ... submit",
    ("POST", "/v1/programs/{program}/transactions:batch"): "batch",
    ("GET", "/v1/programs/{program}/accounts/{account_id}/balances"): "balances",
    ("GET", "/v1/programs/{program}/accounts/{account_id}/history"): "history",
    ("GET", "/v1/programs/{program}/accounts/{account_id}/requests/{request_id}"): "request_status",
    ("GET", "/v1/programs/{program}/accounts/{account_id}/events"): "events",
    ("GET", "/v1/programs/{program}/totals"): "totals",
    ("GET", "/v1/programs/{program}/accounts/{account_id}/qualifying-points"): "qualifying_points",
    ("GET", "/v1/programs"): "programs",
    ("POST", "/v1/programs"): "create_program",
    ("GET", "/v1/programs/{program}"): "program",
    ("PATCH", "/v1/programs/{program}"): "change_program",
    ("GET", "/v1/programs/{program}/versions"): "program_versions",
    ("POST", "/v1/programs/{program}/assets"): "add_asset",
    ("PATCH", "/v1/programs/{program}/assets/{asset}"): "change_asset",
    ("GET", "/v1/dashboard"): "dashboard",
    ("GET", "/healthz"): "healthy",
    ("GET", "/readyz"): "ready",
    ("GET", "/problems/{code}"): "problem",
    ("GET", "/dashboard"): "(the HTML page, for browsers)",
}
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # Answers >= 400 that are values, not errors (a 503 /readyz: "not ready").
    ok_statuses: frozenset[int] = frozenset()


def amount_value(amount: Amount) -> int | str:
    """What the API takes: an int as is, a Decimal or decimal string as an exact string."""
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal | str):
        raise TypeError(f"amounts are int (minor units) or Decimal/str, never {type(amount)}")
    if isinstance(amount, int):
        return amount
    if isinstance(amount, Decimal) and not amount.is_finite():
        raise ValueError(f"not an exact decimal amount: {amount!r}")
    text = format(amount, "f") if isinstance(amount, Decimal) else amount.strip()
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"not an exact decimal amount: {amount!r}")
    return text


def new_request_id() -> str:
    """A fresh idempotency key: retries of one call reuse it, so it applies once."""
    return uuid.uuid4().hex


def transaction(
    operation: str,
    account_id: str,
    asset: str,
    amount: Amount | None = None,
    **optional: Any,
) -> dict[str, Any]:
    """One transaction's body, with a request id (generated when not given)."""
    body: dict[str, Any] = {"operation": operation, "account_id": account_id, "asset": asset}
    if amount is not None:
        body["amount"] = amount_value(amount)
    body.update({name: value for name, value in optional.items() if value is not None})
    body.setdefault("request_id", new_request_id())
    return body


def submit(program: str, body: Mapping[str, Any], wait: bool = True) -> Call[Outcome]:
    body = dict(body)
    body.setdefault("request_id", new_request_id())
    headers = {"Idempotency-Key": body["request_id"]}
    if not wait:
        headers["Prefer"] = "respond-async"
    return Call("POST", f"{_program(program)}/transactions", _outcome, body, headers=headers)


def batch(program: str, bodies: list[Mapping[str, Any]]) -> Call[list[BatchItem]]:
    requests = [{**b, "request_id": b.get("request_id") or new_request_id()} for b in bodies]
    return Call(
        "POST",
        f"{_program(program)}/transactions:batch",
        lambda r: [BatchItem.of(item) for item in _json(r)["results"]],
        {"requests": requests},
    )


def balances(program: str, account_id: str) -> Call[AccountBalances]:
    return Call("GET", f"{_account(program, account_id)}/balances", _reader(AccountBalances.of))


def history(
    program: str, account_id: str, limit: int = 20, before_sequence: int | None = None
) -> Call[HistoryPage]:
    params: dict[str, Any] = {"limit": limit}
    if before_sequence is not None:
        params["before_sequence"] = before_sequence
    return Call(
        "GET", f"{_account(program, account_id)}/history", _reader(HistoryPage.of), params=params
    )


def request_status(program: str, account_id: str, request_id: str) -> Call[Outcome]:
    path = f"{_account(program, account_id)}/requests/{quote(request_id, safe='')}"
    return Call("GET", path, _outcome)


def qualifying_points(program: str, account_id: str) -> Call[QualifyingPoints]:
    path = f"{_account(program, account_id)}/qualifying-points"
    return Call("GET", path, _reader(QualifyingPoints.of))


def totals(program: str) -> Call[list[AssetTotals]]:
    return Call(
        "GET",
        f"{_program(program)}/totals",
        lambda r: [AssetTotals.of(a) for a in _json(r)["assets"]],
    )


def dashboard() -> Call[dict[str, Any]]:
    return Call("GET", "/v1/dashboard", _json)


def problem(code: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/problems/{quote(code, safe='')}", _json)


def health(path: str) -> Call[bool]:
    return Call("GET", path, lambda r: r.status_code == 200, ok_statuses=frozenset({503}))


def retried(call: Call[Any], response: httpx.Response) -> bool:
    """Whether to send the call again: the server asked for a pause or was unavailable."""
    status = response.status_code
    return status in RETRIED_STATUSES and status not in call.ok_statuses


RETRY_AFTER_MAX_S = 60.0
"""A longer Retry-After is waited this long at most: a client call must not hang for a day."""


def retry_delay(response: httpx.Response | None, attempt: int, backoff_s: float) -> float:
    """Retry-After (seconds or an HTTP date) when the server gave one, else exponential backoff
    from `backoff_s`; never more than RETRY_AFTER_MAX_S."""
    delay = float(backoff_s * 2**attempt)
    advice = None if response is None else response.headers.get("Retry-After")
    if advice is not None:
        try:
            delay = float(advice)
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):
                delay = (parsedate_to_datetime(advice) - datetime.now(UTC)).total_seconds()
    if not math.isfinite(delay):
        delay = RETRY_AFTER_MAX_S
    return min(max(0.0, delay), RETRY_AFTER_MAX_S)


def answer(call: Call[T], response: httpx.Response) -> T:
    """The call's value, or the typed error of a problem+json answer."""
    if response.status_code >= 400 and response.status_code not in call.ok_statuses:
        raise error_of(response)
    return call.read(response)


def error_of(response: httpx.Response) -> LedgerError:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    problem.setdefault("detail", response.text[:500])
    return error_for(response.status_code, problem)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One Server-Sent Event of an account stream: `outcome` (data: a history entry, plus
    program and account_id), `ready`, `reset`, or `revoked` (the key was revoked: the stream
    ends, and reconnecting raises Unauthenticated)."""

    event: str
    id: str | None
    data: dict[str, Any]


class EventParser:
    """text/event-stream lines in, events out (comments and retry lines are dropped)."""

    def __init__(self) -> None:
        self._event, self._id, self._data = "message", None, []  # type: tuple[str, str | None, list[str]]

    def line(self, text: str) -> StreamEvent | None:
        if text == "":
            if not self._data:
                return None
            found = StreamEvent(self._event, self._id, json.loads("\n".join(self._data)))
            self._event, self._data = "message", []
            return found
        name, _, value = text.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


def events(program: str, account_id: str, last_event_id: str | None) -> Call[None]:
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return Call("GET", f"{_account(program, account_id)}/events", lambda r: None, headers=headers)


def _outcome(response: httpx.Response) -> Outcome:
    return Outcome.of(_json(response))


def _reader(parse: Callable[[dict[str, Any]], T]) -> Callable[[httpx.Response], T]:
    return lambda response: parse(_json(response))


def _json(response: httpx.Response) -> Any:
    return response.json()


def _program(program: str) -> str:
    return f"/v1/programs/{quote(program, safe='')}"


def _account(program: str, account_id: str) -> str:
    return f"{_program(program)}/accounts/{quote(account_id, safe='')}"
