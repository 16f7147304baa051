"""HTTPS for the gateway: uvicorn's TLS options and the client certificate in the ASGI scope.

With `LEDGER_GATEWAY_TLS_CERT` and `LEDGER_GATEWAY_TLS_KEY` the gateway serves HTTPS only.
With `LEDGER_GATEWAY_TLS_CLIENT_CA` as well, a client may present a certificate signed by that
CA (TLS asks for one, does not demand it: /healthz and keys not bound to a certificate keep
working without). The certificate reaches the application as ASGI's TLS extension
(`scope["extensions"]["tls"]["client_cert_chain"]`, leaf first, PEM), which uvicorn does not
fill itself: `ClientCertificateProtocol` adds it, plus the leaf's SHA-256 fingerprint, which an
API key created with `ledger keys create --client-cert FILE` must match (gateway/access.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from settings import Settings

FINGERPRINT_KEY = "client_cert_sha256"


def certificate_sha256(pem_or_der: bytes) -> str:
    """SHA-256 of a certificate's DER bytes, lowercase hex (what `openssl x509 -fingerprint
    -sha256` prints, without the colons)."""
    text = pem_or_der.lstrip()
    der = ssl.PEM_cert_to_DER_cert(text.decode("ascii")) if text.startswith(b"-----") else text
    return hashlib.sha256(der).hexdigest()


def uvicorn_tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's TLS keywords for these settings ({} when the gateway serves plain HTTP)."""
    if not (settings.gateway_tls_cert_file and settings.gateway_tls_key_file):
        return {}
    options: dict[str, Any] = {
        "ssl_certfile": settings.gateway_tls_cert_file,
        "ssl_keyfile": settings.gateway_tls_key_file,
    }
    if settings.gateway_tls_client_ca_file:
        options.update(
            ssl_ca_certs=settings.gateway_tls_client_ca_file,
            ssl_cert_reqs=ssl.CERT_OPTIONAL,
            http=ClientCertificateProtocol,
        )
    return options


class ClientCertificateProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, adding ASGI's TLS extension to every request's scope."""

    tls_extension: dict[object, object] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # asyncio calls this once the handshake is done, so the peer's certificate is known.
        ssl_object = transport.get_extra_info("ssl_object")
        presented = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        self.tls_extension = {
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(presented)] if presented else [],
            FINGERPRINT_KEY: hashlib.sha256(presented).hexdigest() if presented else None,
            "tls_version": None,
            "cipher_suite": None,
        }

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.tls_extension is not None:
            self.scope["extensions"] = {"tls": dict(self.tls_extension)}


def presented_fingerprint(scope: Any) -> str | None:
    """SHA-256 of the client certificate presented on this request's connection, if any."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    found = tls.get(FINGERPRINT_KEY)
    return str(found) if found else None
