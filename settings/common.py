"""What every process shares: its programs, its logs, its metrics address, the access file."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar


@dataclass(frozen=True)
class CommonSettings:
    programs_config: str = "config/programs.toml"
    log_format: str = "json"
    # Where every process serves /metrics; 0.0.0.0 inside containers.
    metrics_host: str = "127.0.0.1"
    # Who may do what on Kafka and Redis (`ledger acl apply`).
    access_config: str = "config/access.toml"


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("LEDGER_PROGRAMS_CONFIG", "programs_config", str, "programs and assets (TOML)"),
    EnvVar("LEDGER_LOG_FORMAT", "log_format", str, "json (one event per line) or text"),
    EnvVar("LEDGER_METRICS_HOST", "metrics_host", str, "address /metrics endpoints bind to"),
    EnvVar(
        "LEDGER_ACCESS_CONFIG",
        "access_config",
        str,
        "principals and their Kafka ACLs and Redis permissions (TOML)",
    ),
)
