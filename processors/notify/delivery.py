"""One notification to one partner: POST, signed, retried with backoff, bounded attempts."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import httpx

from processors.notify.retry import backoff_s, retryable
from processors.notify.signing import SIGNATURE_HEADER, sign
from processors.notify.subscriptions import Subscription

EVENT_ID_HEADER = "Ledger-Event-Id"
ATTEMPT_HEADER = "Ledger-Delivery-Attempt"
PARTNER_HEADER = "Ledger-Partner"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivered: bool
    attempts: int
    last_status: int | None
    last_error: str | None

    def describe(self) -> str:
        if self.last_error:
            return self.last_error
        return f"HTTP {self.last_status}"


class Deliverer:
    """Posts notifications with one HTTP client per partner thread (connections are reused)."""

    def __init__(self, client: httpx.Client, stop: threading.Event, rng: random.Random) -> None:
        self.client = client
        self.stop = stop
        self.rng = rng

    def deliver(self, subscription: Subscription, event_id: str, body: bytes) -> DeliveryResult:
        status: int | None = None
        error: str | None = None
        attempt = 0
        while attempt < subscription.max_attempts and not self.stop.is_set():
            attempt += 1
            status, error = self._post(subscription, event_id, body, attempt)
            if status is not None and 200 <= status < 300:
                return DeliveryResult(True, attempt, status, None)
            if not retryable(status):
                break
            if attempt < subscription.max_attempts:
                self.stop.wait(backoff_s(attempt, self.rng))
        return DeliveryResult(False, attempt, status, error)

    def _post(
        self, subscription: Subscription, event_id: str, body: bytes, attempt: int
    ) -> tuple[int | None, str | None]:
        timestamp_ms = time.time_ns() // 1_000_000
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(subscription.secret, body, timestamp_ms),
            EVENT_ID_HEADER: event_id,
            ATTEMPT_HEADER: str(attempt),
            PARTNER_HEADER: subscription.partner,
        }
        try:
            response = self.client.post(
                subscription.url,
                content=body,
                headers=headers,
                timeout=subscription.timeout_ms / 1000,
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None
