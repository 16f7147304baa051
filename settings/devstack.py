"""The local stack `ledger services` launches (no Docker needed)."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar

DEFAULT_KAFKA_PORT = 9092
DEFAULT_REDIS_PORT = 6379


@dataclass(frozen=True)
class DevstackSettings:
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
    # The regions stack's MirrorMaker 2 (`ledger services up --regions eu,us`): the port of its
    # internal REST server (needed for exactly-once source support) and its JVM heap.
    mirrormaker_port: int = 9089
    mirrormaker_heap_mb: int = 512


ENV_VARS: tuple[EnvVar, ...] = (
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
    EnvVar(
        "LEDGER_MIRRORMAKER_PORT",
        "mirrormaker_port",
        int,
        "regions stack's MirrorMaker 2 internal REST port",
    ),
    EnvVar("LEDGER_MIRRORMAKER_HEAP_MB", "mirrormaker_heap_mb", int, "MirrorMaker 2's JVM heap"),
)
