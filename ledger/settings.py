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
        """The public requests topic: client operations (producers, partners, gateway)."""
        return f"{self.prefix}requests"

    @property
    def operator_requests(self) -> str:
        """Client operations and elevated ones (ADJUST): only operators may write it."""
        return f"{self.prefix}operator-requests"

    @property
    def internal_requests(self) -> str:
        """The ledger's own requests (transfer legs): only the core may write it."""
        return f"{self.prefix}internal-requests"

    @property
    def inputs(self) -> tuple[str, str, str]:
        """Every topic the core decides requests from, co-partitioned with the journal."""
        return (self.requests, self.operator_requests, self.internal_requests)

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def state_changelog(self) -> str:
        return f"{self.prefix}state-changelog"

    @property
    def state_receipts(self) -> str:
        """An account's idempotency receipts, one record each (compacted)."""
        return f"{self.prefix}state-receipts"

    @property
    def state_reversibles(self) -> str:
        """An account's reversal records, one record each (compacted)."""
        return f"{self.prefix}state-reversibles"

    @property
    def requests_dlq(self) -> str:
        return f"{self.prefix}requests.dlq"

    @property
    def notifications_dlq(self) -> str:
        return f"{self.prefix}notifications.dlq"


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
    # Largest record the core writes (key + value + headers); its producer is allowed 100 000
    # bytes more, which must stay within the broker's message.max.bytes (1 048 588 by default).
    record_bytes_max: int = 900_000
    core_group_id: str = "ledger-core"
    # Names this process to Kafka: its transactional.id and static group membership. A
    # restarted process with the same id fences its predecessor and takes its partitions
    # back at once; two live processes must never share one. Default: host name + pid.
    instance_id: str | None = None
    transaction_timeout_ms: int = 10000
    session_timeout_ms: int = 10000
    core_metrics_port: int = 9101
    mirror_metrics_port: int = 9102
    notify_group_id: str = "ledger-notify"
    partners_config: str = "config/partners.toml"
    log_format: str = "json"
    # Where every process serves /metrics; 0.0.0.0 inside containers.
    metrics_host: str = "127.0.0.1"
    # Read side (processors/readside/): the mirror's consumer group.
    # Default: "<topic prefix>mirror", so two deployments sharing a broker never collide.
    mirror_group_id: str | None = None
    mirror_batch_max: int = 2000
    mirror_batch_time_max_ms: int = 20
    mirror_history_max: int = 100
    mirror_status_ttl_s: int = 7 * 24 * 3600
    # The continuous auditor (`ledger auditor`, a Faust worker). None: headless, without
    # Faust's web server.
    auditor_web_port: int | None = None
    auditor_metrics_port: int = 9104
    audit_interval_s: int = 60
    audit_sample_accounts: int = 200
    # The HTTP gateway (`ledger gateway`, gateway/).
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    gateway_workers: int = 1
    gateway_outcome_timeout_ms: int = 5000
    gateway_rate_per_s: int = 1000
    gateway_rate_burst: int = 2000
    gateway_body_bytes_max: int = 1_048_576
    # The gateway's Prometheus /metrics, on its own port: the API port serves no unauthenticated
    # figures (outcomes by reason are business data).
    gateway_metrics_port: int = 9103
    # TLS for the gateway: serve HTTPS when both files are set. With a client CA, clients may
    # present certificates; an API key bound to one (`ledger keys create --client-cert`) is
    # then accepted only over a connection that presented exactly that certificate.
    gateway_tls_cert_file: str | None = None
    gateway_tls_key_file: str | None = None
    gateway_tls_client_ca_file: str | None = None
    # Extra librdkafka properties (TLS, SASL, ...) passed through verbatim to every client.
    kafka_client_config: Mapping[str, str] = field(default_factory=dict)
    # Replication of the ledger's topics when `topics ensure` creates them; None: the broker's
    # default. Production: 3 and 2 (a write is acknowledged by two replicas, one may be lost).
    topic_replication_factor: int | None = None
    topic_min_insync_replicas: int | None = None
    # Who may do what on Kafka and Redis (`ledger acl apply`).
    access_config: str = "config/access.toml"
    # The local stack launched by `ledger services` (no Docker needed).
    devstack_dir: str = ".devstack"
    kafka_version: str = "4.1.1"
    # Where the broker's jars are cached; None: <devstack_dir>/kafka/libs.
    kafka_jars_dir: str | None = None
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = 9093
    # The secure stack's listener between brokers (mutual TLS); node n uses port + 100 * (n - 1),
    # like the client and controller ports.
    kafka_internal_port: int = 9094
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

    def to_env(self) -> dict[str, str]:
        """The variables that give a child process exactly these settings (from_env's inverse)."""
        env = {
            var.name: str(getattr(self, var.attribute))
            for var in ENV_VARS
            if getattr(self, var.attribute) is not None
        }
        for name, value in self.kafka_client_config.items():
            env[KAFKA_PASSTHROUGH_PREFIX + name.upper().replace(".", "_")] = value
        return env

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
    # Integers below this are refused; 0 is allowed only where it means "off".
    minimum: int = 1

    def parse(self, raw: str) -> object:
        if self.kind is int:
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{self.name} must be an integer, got {raw!r}") from None
            if value < self.minimum:
                raise SettingsError(f"{self.name} must be at least {self.minimum}, got {value}")
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
    EnvVar(
        "LEDGER_RECORD_BYTES_MAX",
        "record_bytes_max",
        int,
        "largest record the core writes; a larger outcome is refused (output_too_large)",
    ),
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
        "how long a mirror batch may gather events",
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
        "LEDGER_AUDIT_SAMPLE_ACCOUNTS",
        "audit_sample_accounts",
        int,
        "accounts compared between Redis and the journal per audit",
    ),
    EnvVar("LEDGER_GATEWAY_HOST", "gateway_host", str, "address the HTTP gateway listens on"),
    EnvVar(
        "LEDGER_GATEWAY_METRICS_PORT",
        "gateway_metrics_port",
        int,
        "port of the gateway's Prometheus /metrics, 0 for none",
        minimum=0,
    ),
    EnvVar("LEDGER_GATEWAY_PORT", "gateway_port", int, "port the HTTP gateway listens on"),
    EnvVar("LEDGER_GATEWAY_WORKERS", "gateway_workers", int, "gateway worker processes"),
    EnvVar(
        "LEDGER_GATEWAY_TLS_CERT",
        "gateway_tls_cert_file",
        str,
        "PEM certificate chain: with the key, the gateway serves HTTPS only",
    ),
    EnvVar("LEDGER_GATEWAY_TLS_KEY", "gateway_tls_key_file", str, "PEM private key of the gateway"),
    EnvVar(
        "LEDGER_GATEWAY_TLS_CLIENT_CA",
        "gateway_tls_client_ca_file",
        str,
        "CA whose client certificates the gateway verifies (keys bound to a certificate)",
    ),
    EnvVar(
        "LEDGER_GATEWAY_OUTCOME_TIMEOUT_MS",
        "gateway_outcome_timeout_ms",
        int,
        "how long a write waits for its outcome before answering 202",
    ),
    EnvVar(
        "LEDGER_GATEWAY_RATE_PER_S",
        "gateway_rate_per_s",
        int,
        "default per-key rate limit (token refill per second)",
    ),
    EnvVar(
        "LEDGER_GATEWAY_RATE_BURST", "gateway_rate_burst", int, "default per-key token bucket size"
    ),
    EnvVar(
        "LEDGER_GATEWAY_BODY_BYTES_MAX",
        "gateway_body_bytes_max",
        int,
        "largest request body the gateway accepts (413 beyond)",
    ),
    EnvVar(
        "LEDGER_CORE_METRICS_PORT",
        "core_metrics_port",
        int,
        "port of the core's Prometheus /metrics, 0 for none",
        minimum=0,
    ),
    EnvVar(
        "LEDGER_NOTIFY_GROUP_ID",
        "notify_group_id",
        str,
        "consumer group prefix of the partner notifier (one group per partner)",
    ),
    EnvVar("LEDGER_PARTNERS_CONFIG", "partners_config", str, "partner webhook subscriptions"),
    EnvVar(
        "LEDGER_ACCESS_CONFIG",
        "access_config",
        str,
        "principals and their Kafka ACLs and Redis permissions (TOML)",
    ),
    EnvVar(
        "LEDGER_TOPIC_REPLICATION_FACTOR",
        "topic_replication_factor",
        int,
        "replicas of each topic `topics ensure` creates (default: the broker's)",
    ),
    EnvVar(
        "LEDGER_TOPIC_MIN_INSYNC_REPLICAS",
        "topic_min_insync_replicas",
        int,
        "replicas that must hold a write before it is acknowledged (default: the broker's)",
    ),
    EnvVar(
        "LEDGER_MIRROR_METRICS_PORT",
        "mirror_metrics_port",
        int,
        "port of the mirror's Prometheus /metrics, 0 for none",
        minimum=0,
    ),
    EnvVar("LEDGER_LOG_FORMAT", "log_format", str, "json (one event per line) or text"),
    EnvVar("LEDGER_METRICS_HOST", "metrics_host", str, "address /metrics endpoints bind to"),
    EnvVar("LEDGER_DEVSTACK_DIR", "devstack_dir", str, "data, logs and jars of the local stack"),
    EnvVar("LEDGER_KAFKA_VERSION", "kafka_version", str, "Apache Kafka version of the stack"),
    EnvVar(
        "LEDGER_KAFKA_JARS_DIR",
        "kafka_jars_dir",
        str,
        "cache of the broker's jars (default <devstack dir>/kafka/libs)",
    ),
    EnvVar("LEDGER_KAFKA_PORT", "kafka_port", int, "local broker's client port"),
    EnvVar(
        "LEDGER_KAFKA_CONTROLLER_PORT", "kafka_controller_port", int, "local KRaft controller port"
    ),
    EnvVar(
        "LEDGER_KAFKA_INTERNAL_PORT",
        "kafka_internal_port",
        int,
        "secure stack's broker-to-broker port (mutual TLS)",
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
