"""Crash points: the core kills itself (SIGKILL, no cleanup) at a named step of a transaction.

Testing only (LEDGER_CRASH_AT=STEP:N): a crash test can then stop the core exactly between
two steps of the commit sequence, which random kills hit only by luck, and check that the
restart loses nothing and repeats nothing whatever the disk and the broker held by then.
"""

from __future__ import annotations

import os
import signal

STEPS = ("begun", "produced", "offsets-sent", "committed", "sealed")


class CrashPoints:
    def __init__(self, spec: str | None) -> None:
        self.step: str | None = None
        self.transaction = 0
        self.seen = 0
        if spec:
            step, _, count = spec.partition(":")
            if step not in STEPS or not count.isdigit() or int(count) < 1:
                raise ValueError(f"LEDGER_CRASH_AT={spec!r}: expected STEP:N, STEP in {STEPS}")
            self.step, self.transaction = step, int(count)

    def begin(self) -> None:
        """A transaction with records begins."""
        self.seen += 1

    def reached(self, step: str) -> None:
        if step == self.step and self.seen == self.transaction:
            os.kill(os.getpid(), signal.SIGKILL)
