"""`ledger run` (what `make run` ends with) supervises the ledger's processes in the
foreground: they start, do their work, and stop cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import replace

from ledger.model import Operation, Request, Status
from ledger.settings import Settings
from processors.core.routing import account_key, partition_for
from schemas.contracts import WireContracts
from tests.support.kafka_io import produce, read_topic
from tests.support.processes import ROOT, settings_env
from tests.support.workload import WorkItem

READY_TIMEOUT_S = 90.0


def test_run_supervises_the_core_and_stops_it_cleanly(settings: Settings) -> None:
    settings = replace(settings, core_group_id=f"{settings.topic_prefix}core")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run"],
        cwd=ROOT,
        env=settings_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not any("[core]" in line and "assigned partitions" in line for line in lines):
        assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
        lines.append(process.stdout.readline())

    contracts = WireContracts.for_registry(None)
    request = Request(
        request_id="via-run",
        program="acme",
        account_id="ann",
        operation=Operation.ACCRUE,
        asset="points",
        amount=42,
        requested_at_ms=time.time_ns() // 10**6,
        principal="test",
    )
    key = account_key("acme", "ann")
    value = contracts.encode_request(request, settings.topics.requests)
    produce(settings, [WorkItem(key, value, partition_for(key, settings.partitions), None, None)])
    events = read_topic(settings, settings.topics.events, 1)
    assert [contracts.decode_event(m.value() or b"").status for m in events] == [Status.APPLIED]

    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=90)
    assert process.returncode == 0, "".join(lines) + rest
    assert "[run] core stopped (0)" in rest
