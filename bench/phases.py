"""What every measured phase shares: waiting for readiness, then for every outcome.

A phase is: processes under test are started and own every partition (`wait_ready`), the
workload is produced, and `wait_for_outcomes` returns once every record has its outcome.
It fails fast, with the reason, when a child exits, the producer or a watcher fails, or no
outcome arrives for `stall_timeout_s`: a benchmark that hangs tells nobody anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient

from bench.errors import BenchError
from bench.processes import Child, group_covers
from bench.produce import WorkloadProducer
from bench.progress import Progress

READY_POLL_S = 0.5
WAIT_POLL_S = 0.05


class PhaseFailed(BenchError):
    """A phase could not finish; the message says why (and the run records it)."""


@dataclass(frozen=True)
class Watch:
    """One thing to wait for: a name, how many arrived so far, and an error if it broke."""

    name: str
    seen: Callable[[], int]
    error: Callable[[], str | None]


def wait_ready(
    admin: AdminClient,
    group: str,
    topic: str,
    partitions: int,
    children: Sequence[Child],
    timeout_s: float,
) -> float:
    """Seconds until the group owns every partition of `topic`."""
    return wait_until(
        lambda: group_covers(admin, group, topic, partitions),
        f"group {group} owning every partition of {topic}",
        children,
        timeout_s,
    )


def wait_until(
    condition: Callable[[], bool], what: str, children: Sequence[Child], timeout_s: float
) -> float:
    """Seconds until `condition()` holds, failing when a child exits or time runs out."""
    started = time.monotonic()
    while not condition():
        _check_children(children)
        if time.monotonic() - started > timeout_s:
            raise PhaseFailed(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(READY_POLL_S)
    return round(time.monotonic() - started, 1)


def wait_for_outcomes(
    watches: Sequence[Watch],
    expected: int,
    producer: WorkloadProducer,
    children: Sequence[Child],
    progress: Progress,
    stall_timeout_s: float,
) -> None:
    last_total, last_change = -1, time.monotonic()
    while True:
        counts = [watch.seen() for watch in watches]
        progress.update(counts[-1])
        if all(count >= expected for count in counts):
            progress.finish(counts[-1])
            return
        for watch in watches:
            error = watch.error()
            if error:
                raise PhaseFailed(f"{watch.name}: {error}")
        if producer.error:
            raise PhaseFailed(f"producer: {producer.error}")
        _check_children(children)
        total = sum(counts)
        if total != last_total:
            last_total, last_change = total, time.monotonic()
        elif time.monotonic() - last_change > stall_timeout_s:
            seen = ", ".join(f"{w.name} {c}" for w, c in zip(watches, counts, strict=True))
            raise PhaseFailed(
                f"no outcome for {stall_timeout_s:.0f} s ({seen} of {expected}; "
                f"{producer.sent} records sent)"
            )
        time.sleep(WAIT_POLL_S)


def _check_children(children: Sequence[Child]) -> None:
    for child in children:
        if not child.alive():
            code = child.process.returncode if child.process else None
            raise PhaseFailed(f"{child.name} exited ({code}): {child.log_tail()}")
