"""The partner notifier (`ledger notify`)."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar


@dataclass(frozen=True)
class NotifySettings:
    notify_group_id: str = "ledger-notify"
    partners_config: str = "config/partners.toml"
    notify_metrics_port: int = 9105


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "LEDGER_NOTIFY_GROUP_ID",
        "notify_group_id",
        str,
        "consumer group prefix of the partner notifier (one group per partner)",
    ),
    EnvVar("LEDGER_PARTNERS_CONFIG", "partners_config", str, "partner webhook subscriptions"),
    EnvVar(
        "LEDGER_NOTIFY_METRICS_PORT",
        "notify_metrics_port",
        int,
        "port of the notifier's /metrics (deliveries, dead letters by partner); 0: none",
        minimum=0,
    ),
)
