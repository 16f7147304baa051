"""The batch clock follows the wall clock, except where it jumps ahead of elapsed time."""

from __future__ import annotations

from processors.core.clock import STEP_MAX_MS, BatchClock

HOUR = 3_600_000
DAY = 24 * HOUR


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_790_000_000_000
        self.elapsed = 5_000

    def tick(self, ms: int, wall_jump: int = 0) -> None:
        self.elapsed += ms
        self.wall += ms + wall_jump


def _clock(clocks: Clocks) -> BatchClock:
    return BatchClock(lambda: clocks.wall, lambda: clocks.elapsed)


def test_in_step_it_is_the_wall_clock() -> None:
    clocks = Clocks()
    clock = _clock(clocks)
    assert clock.now_ms() == clocks.wall
    for _ in range(100):
        clocks.tick(50)
        assert clock.now_ms() == clocks.wall
    clocks.tick(50, wall_jump=STEP_MAX_MS // 2)  # a small NTP step is accepted
    assert clock.now_ms() == clocks.wall


def test_a_jump_ahead_is_held_back_to_elapsed_time_until_the_wall_clock_returns() -> None:
    clocks = Clocks()
    clock = _clock(clocks)
    start = clock.now_ms()
    clocks.tick(1_000, wall_jump=DAY)  # the machine's clock jumps a day ahead
    assert clock.now_ms() == start + 1_000
    clocks.tick(HOUR)
    assert clock.now_ms() == start + 1_000 + HOUR  # time still passes, at its own pace
    clocks.tick(1_000, wall_jump=-DAY)  # corrected: back in step at once
    assert clock.now_ms() == clocks.wall == start + 2_000 + HOUR


def test_a_jump_back_is_followed_at_once() -> None:
    clocks = Clocks()
    clock = _clock(clocks)
    clock.now_ms()
    clocks.tick(1_000, wall_jump=-HOUR)
    assert clock.now_ms() == clocks.wall  # harmless: an account's clock never runs back


def test_a_new_clock_trusts_the_wall_clock_afresh() -> None:
    clocks = Clocks()
    _clock(clocks).now_ms()
    clocks.tick(10, wall_jump=DAY)
    assert _clock(clocks).now_ms() == clocks.wall
