"""Reading one Kafka header of a consumed record (the trace, the reply channel)."""

from __future__ import annotations

from confluent_kafka import Message


def header(message: Message, wanted: str) -> bytes | None:
    """The first value of header `wanted` that is bytes; None when absent."""
    headers = message.headers()
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, dict) else headers
    for name, value in pairs:
        if name == wanted and isinstance(value, bytes):
            return value
    return None
