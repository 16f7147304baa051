from __future__ import annotations

from pathlib import Path

import pytest

from ledger.programs import Programs
from settings.programs import load_programs

SAMPLE_CONFIG = Path(__file__).resolve().parents[3] / "config" / "programs.toml"


@pytest.fixture(scope="session")
def programs() -> Programs:
    return load_programs(SAMPLE_CONFIG)
