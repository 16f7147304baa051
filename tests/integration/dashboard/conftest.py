"""A whole ledger for the dashboard test (the gateway tests' stack: core, mirror and gateway as
real child processes), with the mirror auditing every 2 s so a report exists quickly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infrastructure import Infrastructure
from tests.integration.gateway.conftest import (
    Ledger,
    isolated_settings,
    start_ledger,
    stop_ledger,
    wait_ready,
    warm_up,
)

AUDIT_INTERVAL_S = 2


@pytest.fixture(scope="package")
def ledger(
    infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    running = start_ledger(
        isolated_settings(infrastructure),
        tmp_path_factory.mktemp("ledger"),
        ("core", "mirror", "auditor", "gateway"),
        LEDGER_AUDIT_INTERVAL_S=str(AUDIT_INTERVAL_S),
    )
    try:
        wait_ready(running)
        warm_up(running)
        yield running
    finally:
        stop_ledger(running)
