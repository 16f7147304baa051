"""Webhook signatures: HMAC-SHA256 over the timestamp and the exact body bytes.

Header `Ledger-Signature: t=<unix ms>,v1=<hex digest>` where the digest is
HMAC-SHA256(secret, f"{t}." + body). A partner recomputes it from the raw body it received,
compares in constant time, and rejects a timestamp too far from its clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac

from processors.errors import ProcessorError

SIGNATURE_HEADER = "Ledger-Signature"
TOLERANCE_MS_DEFAULT = 300_000


class SignatureError(ProcessorError, ValueError):
    """The signature header is missing, malformed, wrong, or too old."""


def sign(secret: bytes, body: bytes, timestamp_ms: int) -> str:
    digest = hmac.new(secret, f"{timestamp_ms}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp_ms},v1={digest}"


def verify(
    secret: bytes, body: bytes, header: str, now_ms: int, tolerance_ms: int = TOLERANCE_MS_DEFAULT
) -> None:
    """What a partner does on receipt (also the reference for README's snippet)."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp_ms, received = int(parts["t"]), parts["v1"]
    except (ValueError, KeyError) as error:
        raise SignatureError(f"malformed signature header {header!r}") from error
    expected = sign(secret, body, timestamp_ms).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, received):
        raise SignatureError("signature does not match")
    if abs(now_ms - timestamp_ms) > tolerance_ms:
        raise SignatureError("signature timestamp outside the tolerance")
