"""The partner notifier (`ledger notify`)."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar


@dataclass(frozen=True)
class NotifySettings:
    notify_group_id: str = "ledger-notify"
    partners_config: str = "config/partners.toml"


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "LEDGER_NOTIFY_GROUP_ID",
        "notify_group_id",
        str,
        "consumer group prefix of the partner notifier (one group per partner)",
    ),
    EnvVar("LEDGER_PARTNERS_CONFIG", "partners_config", str, "partner webhook subscriptions"),
)
