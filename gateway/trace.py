"""A trace id per HTTP call, carried in Kafka headers through the core onto the journal.

Taken from the caller's W3C `traceparent` (its trace-id part) or `X-Request-Id` when present
and well-formed, else made up; answered in `Ledger-Trace-Id`; put on the produced request as
the `ledger.trace-id` header, which the core copies onto every record the request causes.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RESPONSE_HEADER = b"ledger-trace-id"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

current_trace_id: ContextVar[str | None] = ContextVar("ledger_trace_id", default=None)


def trace_id_from(headers: dict[bytes, bytes]) -> str:
    traceparent = headers.get(b"traceparent", b"").decode("latin-1").strip().lower()
    match = _TRACEPARENT.match(traceparent)
    if match and match.group(1) != "0" * 32:
        return match.group(1)
    request_id = headers.get(b"x-request-id", b"").decode("latin-1").strip()
    if _REQUEST_ID.match(request_id):
        return request_id
    return uuid.uuid4().hex


class TraceMiddleware:
    """Pure ASGI middleware (no response buffering): sets the id, answers it in a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = trace_id_from(dict(scope.get("headers", [])))
        token = current_trace_id.set(trace_id)

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (RESPONSE_HEADER, trace_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            current_trace_id.reset(token)
