"""One typed, frozen settings object, built once at start-up from a mapping.

Nothing in the project reads the environment at import time: the edges (the `ledger` command,
test fixtures) call `Settings.from_env(os.environ)` once and pass the result down. Every
setting, its variable and its default are listed in `ENV_VARS` so README's table and the code
cannot drift (a unit test compares them).

Parsing is strict: a malformed value raises `SettingsError` naming the variable, rather than
silently falling back (`bool("false")` is True; we never do that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

KafkaValue = str | int | float | bool
DEFAULT_KAFKA_PORT = 9092
DEFAULT_REDIS_PORT = 6379


class SettingsError(ValueError):
    """A variable has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Names of the topics of ARCHITECTURE.md §2, all derived from one prefix."""

    prefix: str

    @property
    def requests(self) -> str:
        return f"{self.prefix}requests"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def state_changelog(self) -> str:
        return f"{self.prefix}state-changelog"

    @property
    def requests_dlq(self) -> str:
        return f"{self.prefix}requests.dlq"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with the defaults a laptop or CI machine wants."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "rl:"
    schema_registry_url: str | None = None
    topic_prefix: str = "rewards."
    partitions: int = 12
    programs_config: str = "config/programs.toml"
    batch_records_max: int = 5000
    batch_time_max_ms: int = 50
    core_group_id: str = "ledger-core"
    # Names this process to Kafka: its transactional.id and static group membership. A
    # restarted process with the same id fences its predecessor and takes its partitions
    # back at once; two live processes must never share one. Default: host name + pid.
    instance_id: str | None = None
    transaction_timeout_ms: int = 10000
    session_timeout_ms: int = 10000
    # Extra librdkafka properties (TLS, SASL, ...) passed through verbatim to every client.
    kafka_client_config: Mapping[str, str] = field(default_factory=dict)
    # The local stack launched by `ledger services` (no Docker needed).
    devstack_dir: str = ".devstack"
    kafka_version: str = "4.1.1"
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = 9093
    kafka_heap_mb: int = 1024
    redis_port: int = DEFAULT_REDIS_PORT
    services_ready_timeout_s: int = 90

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    def kafka_config(
        self, overrides: Mapping[str, KafkaValue] | None = None, /, **named: KafkaValue
    ) -> dict[str, KafkaValue]:
        """librdkafka configuration for a client of this deployment, plus client settings."""
        config: dict[str, KafkaValue] = {"bootstrap.servers": self.kafka_bootstrap_servers}
        config.update(self.kafka_client_config)
        config.update(overrides or {})
        config.update(named)
        return config

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        values: dict[str, object] = {}
        for var in ENV_VARS:
            raw = environ.get(var.name)
            if raw is None or raw == "":
                continue
            values[var.attribute] = var.parse(raw)
        values["kafka_client_config"] = _kafka_passthrough(environ)
        # Without explicit addresses, clients follow the local stack wherever its ports are.
        values.setdefault(
            "kafka_bootstrap_servers", f"127.0.0.1:{values.get('kafka_port', DEFAULT_KAFKA_PORT)}"
        )
        values.setdefault(
            "redis_url", f"redis://127.0.0.1:{values.get('redis_port', DEFAULT_REDIS_PORT)}/0"
        )
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class EnvVar:
    name: str
    attribute: str
    kind: type
    description: str

    def parse(self, raw: str) -> object:
        if self.kind is int:
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{self.name} must be an integer, got {raw!r}") from None
            if value <= 0:
                raise SettingsError(f"{self.name} must be positive, got {value}")
            return value
        return raw


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers", str, "Kafka brokers to use"),
    EnvVar("REDIS_URL", "redis_url", str, "Redis server of the read model"),
    EnvVar("LEDGER_REDIS_KEY_PREFIX", "redis_key_prefix", str, "prefix of every Redis key"),
    EnvVar(
        "SCHEMA_REGISTRY_URL",
        "schema_registry_url",
        str,
        "when set, encode with the Confluent wire format through this registry",
    ),
    EnvVar("LEDGER_TOPIC_PREFIX", "topic_prefix", str, "prefix of every topic name"),
    EnvVar("LEDGER_PARTITIONS", "partitions", int, "partitions of requests, events, changelog"),
    EnvVar("LEDGER_PROGRAMS_CONFIG", "programs_config", str, "programs and assets (TOML)"),
    EnvVar("LEDGER_BATCH_RECORDS_MAX", "batch_records_max", int, "records per transaction"),
    EnvVar("LEDGER_BATCH_TIME_MAX_MS", "batch_time_max_ms", int, "time a batch may gather"),
    EnvVar("LEDGER_CORE_GROUP_ID", "core_group_id", str, "consumer group of the core"),
    EnvVar(
        "LEDGER_INSTANCE_ID",
        "instance_id",
        str,
        "this process's transactional.id and static member id (default host-pid)",
    ),
    EnvVar(
        "LEDGER_TRANSACTION_TIMEOUT_MS",
        "transaction_timeout_ms",
        int,
        "a dead processor's open transaction is aborted after this",
    ),
    EnvVar(
        "LEDGER_SESSION_TIMEOUT_MS",
        "session_timeout_ms",
        int,
        "a silent processor loses its partitions after this",
    ),
    EnvVar("LEDGER_DEVSTACK_DIR", "devstack_dir", str, "data, logs and jars of the local stack"),
    EnvVar("LEDGER_KAFKA_VERSION", "kafka_version", str, "Apache Kafka version of the stack"),
    EnvVar("LEDGER_KAFKA_PORT", "kafka_port", int, "local broker's client port"),
    EnvVar(
        "LEDGER_KAFKA_CONTROLLER_PORT", "kafka_controller_port", int, "local KRaft controller port"
    ),
    EnvVar("LEDGER_KAFKA_HEAP_MB", "kafka_heap_mb", int, "local broker's JVM heap"),
    EnvVar("LEDGER_REDIS_PORT", "redis_port", int, "local Redis port"),
    EnvVar(
        "LEDGER_SERVICES_READY_TIMEOUT_S",
        "services_ready_timeout_s",
        int,
        "how long `services up` waits for readiness",
    ),
)

# Any variable `KAFKA_CONFIG_SECURITY_PROTOCOL=SASL_SSL` becomes `security.protocol=SASL_SSL`.
KAFKA_PASSTHROUGH_PREFIX = "KAFKA_CONFIG_"


def _kafka_passthrough(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        name[len(KAFKA_PASSTHROUGH_PREFIX) :].lower().replace("_", "."): value
        for name, value in environ.items()
        if name.startswith(KAFKA_PASSTHROUGH_PREFIX) and len(name) > len(KAFKA_PASSTHROUGH_PREFIX)
    }
