"""What the phases of one bench run share: its settings, clients, directories and options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from confluent_kafka.admin import AdminClient

from bench.processes import child_env
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
        return child_env(
            self.settings,
            LEDGER_MIRROR_GROUP_ID=self.mirror_group,
            LEDGER_LOG_FORMAT="text",
            **extra,
        )
