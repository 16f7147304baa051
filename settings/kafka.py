"""Kafka: where the brokers are, how clients reach them, and the topics' names and layout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from settings.variables import EnvVar

KafkaValue = str | int | float | bool
# Any variable `KAFKA_CONFIG_SECURITY_PROTOCOL=SASL_SSL` becomes `security.protocol=SASL_SSL`.
KAFKA_PASSTHROUGH_PREFIX = "KAFKA_CONFIG_"


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

    @property
    def outbox(self) -> str:
        """Requests on their way to their account's home region, written only by the core
        (README "Regions"); MirrorMaker 2 copies it to every other region."""
        return f"{self.prefix}outbox"

    @property
    def directory(self) -> str:
        """Where every moved account lives now, compacted by account (schemas/directory.py),
        written only by the core; MirrorMaker 2 copies it to every other region."""
        return f"{self.prefix}directory"

    @property
    def programs(self) -> str:
        """Every version of every program's definition (schemas/program_records.py)."""
        return f"{self.prefix}programs"

    @property
    def programs_writer_id(self) -> str:
        """The one transactional id every writer of program changes shares: each change
        fences the writers before it (schemas/program_writer.py)."""
        return f"{self.prefix}programs-writer"


@dataclass(frozen=True)
class KafkaSettings:
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    schema_registry_url: str | None = None
    topic_prefix: str = "rewards."
    partitions: int = 12
    # Extra librdkafka properties (TLS, SASL, ...) passed through verbatim to every client.
    kafka_client_config: Mapping[str, str] = field(default_factory=dict)
    # Replication of the ledger's topics when `topics ensure` creates them; None: the broker's
    # default. Production: 3 and 2 (a write is acknowledged by two replicas, one may be lost).
    topic_replication_factor: int | None = None
    topic_min_insync_replicas: int | None = None

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


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers", str, "Kafka brokers to use"),
    EnvVar(
        "SCHEMA_REGISTRY_URL",
        "schema_registry_url",
        str,
        "when set, encode with the Confluent wire format through this registry",
    ),
    EnvVar("LEDGER_TOPIC_PREFIX", "topic_prefix", str, "prefix of every topic name"),
    EnvVar("LEDGER_PARTITIONS", "partitions", int, "partitions of requests, events, changelog"),
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
)


def kafka_passthrough(environ: Mapping[str, str]) -> dict[str, str]:
    """librdkafka properties from `KAFKA_CONFIG_*` variables."""
    return {
        name[len(KAFKA_PASSTHROUGH_PREFIX) :].lower().replace("_", "."): value
        for name, value in environ.items()
        if name.startswith(KAFKA_PASSTHROUGH_PREFIX) and len(name) > len(KAFKA_PASSTHROUGH_PREFIX)
    }


def passthrough_variables(client_config: Mapping[str, str]) -> dict[str, str]:
    """The `KAFKA_CONFIG_*` variables of librdkafka properties (kafka_passthrough's inverse)."""
    return {
        KAFKA_PASSTHROUGH_PREFIX + name.upper().replace(".", "_"): value
        for name, value in client_config.items()
    }
