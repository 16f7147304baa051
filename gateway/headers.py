"""Security headers on every response.

An API answers JSON to programs, yet browsers reach it too (the dashboard, /docs, a partner's
web app calling it), so every response says: do not sniff types, send no referrer, never frame
me, do not cache (balances and histories are personal data). JSON answers also carry a
Content-Security-Policy that allows nothing, since no JSON needs to run or load anything.
Strict-Transport-Security goes on HTTPS responses only: sent over plain HTTP it is ignored, and
behind a TLS-terminating proxy it is the proxy's to send (README "HTTPS").
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
NO_STORE = (b"cache-control", b"no-store")
JSON_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    """Pure ASGI middleware: adds headers to the response start, never buffers a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                added = [h for h in ALWAYS if h[0] not in present]
                if NO_STORE[0] not in present:
                    added.append(NO_STORE)
                content_type = dict(headers).get(b"content-type", b"")
                if b"json" in content_type and JSON_CSP[0] not in present:
                    added.append(JSON_CSP)
                if https:
                    added.append(HSTS)
                message["headers"] = headers + added
            await send(message)

        await self.app(scope, receive, send_with_headers)
