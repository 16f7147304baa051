"""What the phases of one bench run share: its settings, clients, directories and options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from confluent_kafka.admin import AdminClient

from schemas.contracts import WireContracts
from settings import Settings


@dataclass(frozen=True)
class BenchContext:
    settings: Settings  # with the run's own topic prefix, Redis key prefix and groups
    admin: AdminClient
    contracts: WireContracts
    project_root: Path  # where children run, so config/programs.toml is found
    run_dir: Path  # children's logs
    stream: TextIO
    rate: float | None
    ready_timeout_s: float
    stall_timeout_s: float

    @property
    def mirror_group(self) -> str:
        return f"{self.settings.topic_prefix}mirror"

    def child_env(self, **extra: str) -> dict[str, str]:
        """The environment of a ledger child: this run's settings and nothing inherited.

        LEDGER_* and KAFKA_* variables of the caller are dropped so a deployment's settings
        can never point a child at real topics or keys.
        """
        settings = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "KAFKA_"))}
        env.update(settings.to_env())
        env.update(
            LEDGER_MIRROR_GROUP_ID=self.mirror_group,
            LEDGER_PROGRAMS_CONFIG=str(Path(settings.programs_config).resolve()),
            # Several children share this host: none serves metrics.
            LEDGER_CORE_METRICS_PORT="0",
            LEDGER_MIRROR_METRICS_PORT="0",
            LEDGER_LOG_FORMAT="text",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env
