"""What every process shares: its programs, its logs, its metrics address, the access file."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar

# auto: readable on a terminal, JSON lines otherwise (cli/logs.py).
LOG_FORMATS = ("auto", "json", "text", "color")


@dataclass(frozen=True)
class CommonSettings:
    programs_config: str = "config/programs.toml"
    log_format: str = "auto"
    # Where every process serves /metrics; 0.0.0.0 inside containers.
    metrics_host: str = "127.0.0.1"
    # Who may do what on Kafka and Redis (`ledger acl apply`).
    access_config: str = "config/access.toml"


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("LEDGER_PROGRAMS_CONFIG", "programs_config", str, "programs and assets (TOML)"),
    EnvVar(
        "LEDGER_LOG_FORMAT",
        "log_format",
        str,
        "auto (readable on a terminal, JSON lines otherwise), json, text or color",
        choices=LOG_FORMATS,
    ),
    EnvVar("LEDGER_METRICS_HOST", "metrics_host", str, "address /metrics endpoints bind to"),
    EnvVar(
        "LEDGER_ACCESS_CONFIG",
        "access_config",
        str,
        "principals and their Kafka ACLs and Redis permissions (TOML)",
    ),
)
