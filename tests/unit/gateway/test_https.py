"""Security headers, and API keys bound to a client certificate (no network)."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from starlette.types import Message, Receive, Send
from starlette.types import Scope as AsgiScope

from gateway.auth import ApiKey, Scope, fields_to_key, key_to_fields
from gateway.headers import SecurityHeadersMiddleware
from gateway.tls import certificate_sha256, presented_fingerprint

# Stands for a certificate's DER bytes: a fingerprint hashes bytes, it does not parse them.
DER = bytes(range(48)) * 3


def _headers(scheme: str, content_type: bytes) -> dict[bytes, bytes]:
    async def app(scope: AsgiScope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type)],
            }
        )
        await send({"type": "http.response.body", "body": b"{}"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request"}

    middleware = SecurityHeadersMiddleware(app)
    asyncio.run(middleware({"type": "http", "scheme": scheme}, receive, send))
    return dict(sent[0]["headers"])


def test_https_json_answers_carry_every_header() -> None:
    headers = _headers("https", b"application/json")
    assert headers[b"strict-transport-security"].startswith(b"max-age=")
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"referrer-policy"] == b"no-referrer"
    assert headers[b"cache-control"] == b"no-store"
    assert headers[b"content-security-policy"].startswith(b"default-src 'none'")


def test_plain_http_gets_no_hsts_and_html_no_json_policy() -> None:
    headers = _headers("http", b"text/html")
    assert b"strict-transport-security" not in headers
    assert b"content-security-policy" not in headers
    assert headers[b"x-content-type-options"] == b"nosniff"


def test_a_fingerprint_is_the_same_from_pem_or_der() -> None:
    pem = ssl.DER_cert_to_PEM_cert(DER).encode()
    assert certificate_sha256(pem) == certificate_sha256(DER)
    assert len(certificate_sha256(DER)) == 64


def test_the_presented_fingerprint_comes_from_the_asgi_tls_extension() -> None:
    assert presented_fingerprint({"type": "http"}) is None
    scope = {"extensions": {"tls": {"client_cert_chain": [], "client_cert_sha256": "ab"}}}
    assert presented_fingerprint(scope) == "ab"


@pytest.mark.parametrize("bound", [None, "0f" * 32])
def test_a_key_keeps_its_certificate_binding_in_redis(bound: str | None) -> None:
    key = ApiKey(
        "0123456789ab",
        frozenset({"acme"}),
        frozenset({Scope.ADMIN}),
        "",
        1,
        client_cert_sha256=bound,
    )
    fields = key_to_fields(key, "digest")
    assert fields_to_key(key.key_id, fields) == (key, "digest")
