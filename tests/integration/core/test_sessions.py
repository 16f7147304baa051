"""A failed core session is let go: its producer, consumer, their threads and sockets do not
pile up across restarts (they did while gc.freeze() kept every old session alive)."""

from __future__ import annotations

import gc
import threading
import weakref
from dataclasses import replace
from pathlib import Path

import pytest

from processors.core import loop
from processors.core.intake import SessionFailed
from processors.core.loop import CoreProcessor, CoreSession
from schemas.contracts import WireContracts
from settings import Settings
from settings.programs import load_programs
from tests.support.processes import ROOT

FAILURES = 6
TURNS_MAX = 400


def _native_threads() -> int:
    """Every thread of this process, librdkafka's included (threading only knows Python's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads: line in /proc/self/status")


def test_failed_sessions_are_collected(topics: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(
        topics, core_group_id=f"{topics.topic_prefix}sessions", session_timeout_ms=6_000
    )
    sessions: list[weakref.ref[CoreSession]] = []
    assigned = 0
    stop = threading.Event()

    def run_then_fail(self: CoreSession, stop_event: threading.Event) -> None:
        nonlocal assigned
        sessions.append(weakref.ref(self))
        for _ in range(TURNS_MAX):  # until assigned and restored (when gc.freeze() ran)
            self.run_once()
            if self.stores:
                assigned += 1
                break
        if len(sessions) >= FAILURES:
            stop.set()
        raise SessionFailed("injected")

    monkeypatch.setattr(CoreSession, "run", run_then_fail)
    monkeypatch.setattr(loop, "RESTART_BACKOFF_S", (0.0,))
    processor = CoreProcessor(
        settings,
        load_programs(ROOT / "config" / "programs.toml"),
        WireContracts.for_registry(None),
        "sessions",
    )
    threads_before = _native_threads()
    processor.run(stop)
    gc.collect()
    assert processor.stats.restarts == FAILURES
    assert assigned == FAILURES
    alive = [ref for ref in sessions if ref() is not None]
    assert alive == [], f"{len(alive)} of {len(sessions)} failed sessions still alive"
    # librdkafka's threads end with their handles: a few may be winding down, not 6 sessions'.
    assert _native_threads() <= threads_before + 4
