"""When to try a webhook again: exponential backoff with full jitter, a bounded number of times."""

from __future__ import annotations

import random

BASE_DELAY_S = 0.5
MAX_DELAY_S = 60.0


def backoff_s(attempt: int, rng: random.Random) -> float:
    """Pause before attempt `attempt + 1` (attempt counts from 1): random in [0, cap]."""
    cap = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (attempt - 1))
    return rng.uniform(0, cap)


def retryable(status: int | None) -> bool:
    """Network errors (None), timeouts, 408, 429 and 5xx are worth another try; other 4xx
    mean the partner will never accept this notification as it is."""
    return status is None or status in (408, 425, 429) or status >= 500
