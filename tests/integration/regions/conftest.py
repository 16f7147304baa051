"""Two regions on two real Kafka clusters with MirrorMaker 2 between them, shared by the
region tests (`ledger services up --regions eu,us` in a temporary directory)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli.devstack.regions import RegionsStack
from tests.support.stacks import running_regions

REGIONS = ("eu", "us")


@pytest.fixture(scope="session")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegionsStack]:
    with running_regions(tmp_path_factory.mktemp("regions"), REGIONS) as stack:
        yield stack
