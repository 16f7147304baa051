"""Progress of a phase: a redrawn bar on a terminal, a plain line now and then otherwise."""

from __future__ import annotations

import time
from typing import TextIO

BAR_WIDTH = 30
TTY_REDRAW_S = 0.2
PLAIN_LINE_S = 5.0


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self.label = label
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.shown_at = 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.shown_at < (TTY_REDRAW_S if self.tty else PLAIN_LINE_S):
            return
        self.shown_at = now
        elapsed = max(now - self.started, 1e-9)
        fraction = min(done / self.total, 1.0) if self.total else 1.0
        figures = f"{done:,}/{self.total:,} outcomes, {done / elapsed:,.0f}/s, {elapsed:.0f} s"
        if self.tty:
            filled = round(BAR_WIDTH * fraction)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction:4.0%} {figures}\x1b[K")
        else:
            self.stream.write(f"{self.label}: {fraction:4.0%} {figures}\n")
        self.stream.flush()

    def finish(self, done: int) -> None:
        self.update(done, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own, outside the bar."""
        self.stream.write(("\n" if self.tty and self.shown_at else "") + text + "\n")
        self.stream.flush()


def say(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()
