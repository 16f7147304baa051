"""The read side: the mirror into Redis and the continuous auditor."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar


@dataclass(frozen=True)
class MirrorSettings:
    mirror_metrics_port: int = 9102
    # Read side (processors/readside/): the mirror's consumer group.
    # Default: "<topic prefix>mirror", so two deployments sharing a broker never collide.
    mirror_group_id: str | None = None
    mirror_batch_max: int = 2000
    mirror_batch_time_max_ms: int = 5
    mirror_history_max: int = 100
    mirror_status_ttl_s: int = 7 * 24 * 3600
    # The continuous auditor (`ledger auditor`, a Faust worker). None: headless, without
    # Faust's web server.
    auditor_web_port: int | None = None
    auditor_metrics_port: int = 9104
    audit_interval_s: int = 60
    audit_sample_accounts: int = 200
    # Journal extensions `ledger run` starts (processors/extensions/): "" or
    # "qualifying_points".
    extensions: str = ""


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "LEDGER_MIRROR_METRICS_PORT",
        "mirror_metrics_port",
        int,
        "port of the mirror's Prometheus /metrics, 0 for none",
        minimum=0,
    ),
    EnvVar(
        "LEDGER_MIRROR_GROUP_ID",
        "mirror_group_id",
        str,
        "consumer group of the Redis mirror (default <topic prefix>mirror)",
    ),
    EnvVar("LEDGER_MIRROR_BATCH_MAX", "mirror_batch_max", int, "journal events per Redis batch"),
    EnvVar(
        "LEDGER_MIRROR_BATCH_TIME_MAX_MS",
        "mirror_batch_time_max_ms",
        int,
        "how long a mirror batch gathers events after its first",
    ),
    EnvVar(
        "LEDGER_MIRROR_HISTORY_MAX", "mirror_history_max", int, "recent events kept per account"
    ),
    EnvVar(
        "LEDGER_MIRROR_STATUS_TTL_S",
        "mirror_status_ttl_s",
        int,
        "how long a request's outcome stays readable in Redis",
    ),
    EnvVar(
        "LEDGER_AUDITOR_WEB_PORT",
        "auditor_web_port",
        int,
        "port of the auditor's Faust web server (unset: headless)",
    ),
    EnvVar(
        "LEDGER_AUDITOR_METRICS_PORT",
        "auditor_metrics_port",
        int,
        "port of the auditor's Prometheus /metrics, 0 for none",
        minimum=0,
    ),
    EnvVar("LEDGER_AUDIT_INTERVAL_S", "audit_interval_s", int, "seconds between continuous audits"),
    EnvVar(
        "LEDGER_EXTENSIONS",
        "extensions",
        str,
        "journal extensions `ledger run` starts: qualifying_points, or empty for none",
        choices=("", "qualifying_points"),
    ),
    EnvVar(
        "LEDGER_AUDIT_SAMPLE_ACCOUNTS",
        "audit_sample_accounts",
        int,
        "accounts compared between Redis and the journal per audit",
    ),
)
