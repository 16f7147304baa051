"""A one-line progress bar with rate and ETA, drawn only when the output is a terminal."""

from __future__ import annotations

import time
from typing import TextIO

REDRAW_INTERVAL_S = 0.2
BAR_WIDTH = 30


class ProgressBar:
    def __init__(self, total: int, out: TextIO, label: str = "events") -> None:
        self.total = max(total, 0)
        self.out = out
        self.label = label
        self.done = 0
        self.started = time.monotonic()
        self.drawn_at = 0.0
        self.enabled = out.isatty()

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and now - self.drawn_at >= REDRAW_INTERVAL_S:
            self.drawn_at = now
            self.out.write("\r" + self.line(now))
            self.out.flush()

    def finish(self) -> None:
        if self.enabled:
            self.out.write("\r" + self.line(time.monotonic()) + "\n")
            self.out.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        # The total is an estimate (high watermarks include transaction markers and aborted
        # records), so the bar never claims more than 100 %.
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(fraction * BAR_WIDTH)
        left = max(self.total - self.done, 0)
        eta = f"{left / rate:5.0f} s" if rate > 0 else "    ? s"
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%} "
            f"{self.done:,}/{self.total:,} {self.label}  {rate:,.0f}/s  ETA {eta}"
        )
