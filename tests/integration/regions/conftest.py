"""Two regions on two real Kafka clusters with MirrorMaker 2 between them, shared by the
region tests (`ledger services up --regions eu,us` in a temporary directory), and a ledger
(core, mirror, gateway, relay) per region on them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from cli.devstack.regions import RegionsStack
from settings import Settings
from tests.integration.gateway.conftest import Ledger, start_ledger, stop_ledger, wait_ready
from tests.support.stacks import running_regions

REGIONS = ("eu", "us")


@pytest.fixture(scope="session")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegionsStack]:
    with running_regions(tmp_path_factory.mktemp("regions"), REGIONS) as stack:
        yield stack


@pytest.fixture(scope="session")
def ledgers(
    regions: RegionsStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Ledger]]:
    """A core, a mirror, a gateway and a relay per region, each on its region's cluster and
    Redis, under topics and keys of this run's own. Tests share them: each uses members of
    its own."""
    running: dict[str, Ledger] = {}
    logs = tmp_path_factory.mktemp("region-ledgers")
    try:
        for name in regions.names:
            log_dir = logs / name
            log_dir.mkdir()
            settings = _fresh_prefix(regions.settings_for(name), logs.name)
            running[name] = start_ledger(settings, log_dir, ("core", "mirror", "gateway", "relay"))
        for ledger in running.values():
            wait_ready(ledger)
        yield running
    finally:
        for ledger in running.values():
            stop_ledger(ledger)


def _fresh_prefix(settings: Settings, run: str) -> Settings:
    """Topics and Redis keys of this run's own (MirrorMaker copies any prefix's journal)."""
    tag = "".join(c for c in run if c.isalnum())[-12:].lower()
    return replace(settings, topic_prefix=f"{tag}.", redis_key_prefix=f"{tag}:")
