"""Refuses request bodies above a size limit (413 problem+json) before anything parses them.

Checks `Content-Length` up front and counts the bytes of chunked bodies as they stream in, so
a client cannot make the gateway buffer more than the limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import PROBLEM_MEDIA_TYPE, PROBLEMS, problem_body


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, body_bytes_max: int) -> None:
        self.app = app
        self.body_bytes_max = body_bytes_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.body_bytes_max:
                    await self._refuse(scope, send)
                    return
        received = 0
        too_large = False
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.body_bytes_max:
                    # The app sees an empty body and answers something; we answer 413 instead.
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal refused
            if not too_large:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(scope, send)

        await self.app(scope, counted_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps(
            problem_body(
                "body_too_large",
                f"request bodies are limited to {self.body_bytes_max} bytes",
                scope.get("path"),
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": PROBLEMS["body_too_large"].status,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
