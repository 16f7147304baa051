"""Several regions on one machine: a Kafka broker and a Redis per region, and MirrorMaker 2.

`ledger services up --regions eu,us` lives in `<devstack>/stacks/regions-eu-us/`: one plaintext
stack per region in `<region>/` and the MirrorMaker between them in `mirrormaker/`. Region n
(counting from 0) uses every configured port + 1000 * n, so the first region has the everyday
ports (a client without settings talks to it) and `ledger run --region us` finds its own.
The brokers share `LEDGER_KAFKA_HEAP_MB` between them, so two fit where one did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from cli.devstack.errors import DevstackError
from cli.devstack.kafka import NODE_HEAP_MIN_MB
from cli.devstack.mirrormaker import MirrorMaker
from cli.devstack.stack import ServiceStatus, Stack
from settings import Settings
from settings.regions import parse_regions
from settings.variables import SettingsError

REGION_PORT_STEP = 1000
NAMES_FILE = "regions"
# Ports a region's processes listen on, all moved together (0 stays 0: "none").
_PORTS = (
    "kafka_port",
    "kafka_controller_port",
    "kafka_internal_port",
    "redis_port",
    "gateway_port",
    "gateway_metrics_port",
    "core_metrics_port",
    "mirror_metrics_port",
    "auditor_metrics_port",
    "notify_metrics_port",
)


def region_settings(settings: Settings, names: Sequence[str], region: str) -> Settings:
    """`settings` as the processes of `region` of a local regions stack see them."""
    step = REGION_PORT_STEP * list(names).index(region)
    moved: dict[str, int] = {
        name: getattr(settings, name) + step for name in _PORTS if getattr(settings, name)
    }
    return dataclasses.replace(
        settings,
        **moved,  # type: ignore[arg-type]
        kafka_heap_mb=max(NODE_HEAP_MIN_MB, settings.kafka_heap_mb // len(names)),
        kafka_bootstrap_servers=f"127.0.0.1:{moved['kafka_port']}",
        redis_url=f"redis://127.0.0.1:{moved['redis_port']}/0",
        region=region,
        regions=",".join(names),
    )


class RegionsStack:
    def __init__(self, settings: Settings, names: Sequence[str]) -> None:
        try:
            self.names = parse_regions(",".join(names))
        except SettingsError as error:
            raise DevstackError(str(error).replace("LEDGER_REGIONS", "--regions")) from None
        if len(self.names) < 2:
            raise DevstackError("--regions needs two regions at least, e.g. --regions eu,us")
        self.settings = settings
        root = Path(settings.devstack_dir).resolve()
        self.home = root / "stacks" / ("regions-" + "-".join(self.names))
        self.stacks = {
            name: Stack(region_settings(settings, self.names, name), home=self.home / name)
            for name in self.names
        }
        self.mirrormaker = MirrorMaker(
            settings,
            self.home,
            {name: stack.kafka.bootstrap for name, stack in self.stacks.items()},
        )

    @classmethod
    def every(cls, settings: Settings) -> list[RegionsStack]:
        """Every regions stack this devstack directory has held (running or not)."""
        stacks = Path(settings.devstack_dir).resolve() / "stacks"
        found = sorted(stacks.glob(f"regions-*/{NAMES_FILE}")) if stacks.exists() else []
        return [cls(settings, path.read_text().split()) for path in found]

    @classmethod
    def running(cls, settings: Settings) -> RegionsStack | None:
        for stack in cls.every(settings):
            if stack.is_running():
                return stack
        return None

    def is_running(self) -> bool:
        return self.mirrormaker.process.pid() is not None or any(
            stack.kafka.running() or stack.redis.process.pid() is not None
            for stack in self.stacks.values()
        )

    def up(self) -> list[ServiceStatus]:
        for stack in self.stacks.values():
            stack.kafka.preflight()
            stack.redis.preflight()
        self.mirrormaker.preflight()
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / NAMES_FILE).write_text("\n".join(self.names) + "\n")
        statuses: list[ServiceStatus] = []
        for name, stack in self.stacks.items():
            statuses += [_in_region(service, name) for service in stack.up()]
        return [*statuses, self._status_mirrormaker(self.mirrormaker.start())]

    def down(self) -> list[str]:
        # MirrorMaker first, so it does not spend its grace period reaching stopped brokers.
        stopped = ["mirrormaker"] if self.mirrormaker.stop() else []
        for name, stack in self.stacks.items():
            stopped += [f"{service} {name}" for service in stack.down()]
        return stopped

    def status(self) -> list[ServiceStatus]:
        statuses = [
            _in_region(service, name)
            for name, stack in self.stacks.items()
            for service in stack.status()
        ]
        return [*statuses, self._status_mirrormaker()]

    def _status_mirrormaker(self, ready_after_s: float | None = None) -> ServiceStatus:
        pid = self.mirrormaker.process.pid()
        return ServiceStatus(
            "mirrormaker",
            f"{' <-> '.join(self.names)} (REST 127.0.0.1:{self.settings.mirrormaker_port})",
            pid,
            pid is not None and self.mirrormaker.flowing(),
            ready_after_s,
        )

    def settings_for(self, region: str) -> Settings:
        if region not in self.stacks:
            raise DevstackError(
                f"region {region!r} is not one of this stack's ({', '.join(self.names)})"
            )
        return self.stacks[region].settings

    def environment(self, region: str) -> dict[str, str]:
        """The variables that make a process one of `region`'s."""
        settings = self.settings_for(region)
        env = self.stacks[region].environment()
        env.update({"LEDGER_REGION": region, "LEDGER_REGIONS": settings.regions})
        env.update({f"LEDGER_{name.upper()}": str(getattr(settings, name)) for name in _PORTS})
        return env


def _in_region(service: ServiceStatus, region: str) -> ServiceStatus:
    return dataclasses.replace(service, name=f"{service.name} {region}")
