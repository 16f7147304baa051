"""The batch clock: the processor's wall clock, never allowed to run ahead of elapsed time.

Why bound it: an account's clock never runs backwards (`decide` uses
`max(now, state.clock_ms)`), so a single reading of a wall clock that jumped ahead would move
every account it touches ahead for good: lots expired early, requests rejected as stale.

Why not take time from the records: their timestamps are set by producers (CreateTime), so
anyone who can write the public topic could move every account's clock; and an idle
partition still needs time to pass for its timers.

So the batch clock is the wall clock, but since the last reading it agreed with, it may
advance by at most the elapsed time of the machine's boot clock (`CLOCK_BOOTTIME`: it never
steps, and counts a suspended machine's sleep) plus a slew allowance (NTP slews at most
500 ppm) and `STEP_MAX_MS` for small steps. A larger forward jump is held back (a warning and
the `ledger_core_clock_held_back_ms` gauge): the clock follows elapsed time until the wall
clock comes back to it. A backward jump is followed at once; it is harmless. A new session
trusts the wall clock afresh, so an operator who fixed a wrong clock restarts the core.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from processors.core import metrics

log = logging.getLogger(__name__)

Clock = Callable[[], int]

STEP_MAX_MS = 1_000
"""Forward step of the wall clock accepted at once, beyond elapsed time."""
SLEW_DIVISOR = 1_000
"""Elapsed time / this = drift accepted on top (0.1 %, twice NTP's largest slew rate)."""
WARN_INTERVAL_S = 60.0


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def boot_clock_ms() -> int:
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1_000_000


class BatchClock:
    def __init__(self, wall: Clock = wall_clock_ms, elapsed: Clock = boot_clock_ms) -> None:
        self._wall = wall
        self._elapsed = elapsed
        self._anchor: tuple[int, int] | None = None
        """(clock value, elapsed reading) of the last reading the wall clock agreed with."""
        self._warned_at = -WARN_INTERVAL_S

    def now_ms(self) -> int:
        wall, elapsed = self._wall(), self._elapsed()
        if self._anchor is None:
            self._anchor = (wall, elapsed)
            return wall
        value, at = self._anchor
        gone = max(elapsed - at, 0)
        if wall <= value + gone + gone // SLEW_DIVISOR + STEP_MAX_MS:
            self._anchor = (wall, elapsed)
            metrics.CLOCK_HELD_BACK.set(0)
            return wall
        held = value + gone
        metrics.CLOCK_HELD_BACK.set(wall - held)
        if time.monotonic() - self._warned_at >= WARN_INTERVAL_S:
            self._warned_at = time.monotonic()
            log.warning(
                "wall clock is %d ms ahead of the time elapsed since it was last trusted; "
                "holding the ledger's clock back (restart the core to accept the wall clock)",
                wall - held,
            )
        return held
