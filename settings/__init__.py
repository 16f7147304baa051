"""One typed, frozen settings object, built once at start-up from a mapping.

Infrastructure, not domain: a floor of its own below the processes and the gateway, above
`ledger/`. Grouped by concern, one module each (common, kafka, redis, core, mirror, gateway,
notify, devstack): a module declares its fields and, in `ENV_VARS`, the variable of each.
`Settings` is all of them in one frozen object.

Nothing in the project reads the environment at import time: the edges (the `ledger` command,
test fixtures) call `Settings.from_env(os.environ)` once and pass the result down. Every
setting, its variable and its default are listed in `ENV_VARS`, so README's table and the code
cannot drift (a unit test compares them). Parsing is strict: a malformed value raises
`SettingsError` naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from settings import common, core, devstack, gateway, kafka, mirror, notify, redis, regions
from settings.devstack import DEFAULT_KAFKA_PORT, DEFAULT_REDIS_PORT
from settings.kafka import (
    KAFKA_PASSTHROUGH_PREFIX,
    KafkaValue,
    TopicNames,
    kafka_passthrough,
    passthrough_variables,
)
from settings.variables import EnvVar, SettingsError

__all__ = [
    "ENV_VARS",
    "KAFKA_PASSTHROUGH_PREFIX",
    "EnvVar",
    "KafkaValue",
    "Settings",
    "SettingsError",
    "TopicNames",
]

ENV_VARS: tuple[EnvVar, ...] = (
    *kafka.ENV_VARS,
    *redis.ENV_VARS,
    *common.ENV_VARS,
    *core.ENV_VARS,
    *mirror.ENV_VARS,
    *gateway.ENV_VARS,
    *notify.ENV_VARS,
    *devstack.ENV_VARS,
    *regions.ENV_VARS,
)


@dataclass(frozen=True)
class Settings(
    common.CommonSettings,
    kafka.KafkaSettings,
    redis.RedisSettings,
    core.CoreSettings,
    mirror.MirrorSettings,
    gateway.GatewaySettings,
    notify.NotifySettings,
    devstack.DevstackSettings,
    regions.RegionSettings,
):
    """Everything configurable, with the defaults a laptop or CI machine wants."""

    def to_env(self) -> dict[str, str]:
        """The variables that give a child process exactly these settings (from_env's inverse)."""
        env = {
            var.name: str(getattr(self, var.attribute))
            for var in ENV_VARS
            if getattr(self, var.attribute) is not None
        }
        env.update(passthrough_variables(self.kafka_client_config))
        return env

    def journal_copy(self, source: str) -> Settings:
        """These settings as seen by a reader of `source` region's journal copied here.

        MirrorMaker 2 names the copy `<source>.<topic>` (`eu.rewards.events`), so the copy is
        a journal under the prefix `<source>.<prefix>`; its read model is a model of its own
        in the same Redis, under `<redis prefix>@<source>:`, with its own generation, offsets
        and totals, so each model stays exactly the fold of one journal (and is audited as
        one). The mirror's consumer group is named after the copy too.
        """
        return replace(
            self,
            topic_prefix=f"{source}.{self.topic_prefix}",
            redis_key_prefix=f"{self.redis_key_prefix}@{source}:",
            mirror_group_id=(
                f"{self.mirror_group_id}.{source}" if self.mirror_group_id is not None else None
            ),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        values: dict[str, object] = {}
        for var in ENV_VARS:
            raw = environ.get(var.name)
            if raw is None or raw == "":
                continue
            values[var.attribute] = var.parse(raw)
        values["kafka_client_config"] = kafka_passthrough(environ)
        # Without explicit addresses, clients follow the local stack wherever its ports are.
        values.setdefault(
            "kafka_bootstrap_servers", f"127.0.0.1:{values.get('kafka_port', DEFAULT_KAFKA_PORT)}"
        )
        values.setdefault(
            "redis_url", f"redis://127.0.0.1:{values.get('redis_port', DEFAULT_REDIS_PORT)}/0"
        )
        settings = cls(**values)  # type: ignore[arg-type]
        settings.region_names  # noqa: B018 - checks LEDGER_REGIONS and LEDGER_REGION now
        return settings
