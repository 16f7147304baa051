"""Apache Kafka in KRaft mode, one node or a small cluster, run from its Maven Central jars.

Node 1 lives in `<home>/kafka`, node n in `<home>/kafka-n`; each has its own properties, data
and logs. All nodes of a cluster are formatted with one cluster id (kept in `<home>/kafka/
cluster-id`), and in a secure cluster with the admin's SCRAM credentials, so that the first
client able to create the other users is already known to the brokers.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

from cli.devstack import jars
from cli.devstack.errors import DevstackError
from cli.devstack.kafka_config import (
    SCRAM_MECHANISM,
    BrokerTls,
    NodePorts,
    broker_properties,
    node_ports,
)
from cli.devstack.process import ManagedProcess, port_is_free, wait_until
from settings import KafkaValue, Settings

FORMAT_TIMEOUT_S = 120
NODE_HEAP_MIN_MB = 384

LOG4J2_PROPERTIES = """\
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {log_dir}/server.log
appender.file.filePattern = {log_dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


@dataclass(frozen=True)
class KafkaSecurity:
    """What a secure cluster's nodes and its admin client need."""

    tls: BrokerTls
    admin_password: str
    ca_file: Path

    def admin_client_config(self) -> dict[str, str]:
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": "admin",
            "sasl.password": self.admin_password,
            "ssl.ca.location": str(self.ca_file),
        }


class KafkaNode:
    def __init__(self, settings: Settings, home: Path, ports: NodePorts, name: str) -> None:
        self.settings = settings
        self.ports = ports
        self.home = home / ("kafka" if ports.node_id == 1 else f"kafka-{ports.node_id}")
        self.data_dir = self.home / "data"
        self.process = ManagedProcess(
            name=name,
            pid_file=self.home / "kafka.pid",
            log_file=self.home / "logs" / "console.log",
            marker=str(self.home / "server.properties"),
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.ports.client}"

    def check_ports(self, secure: bool) -> None:
        ports = [self.ports.client, self.ports.controller]
        for port in ports + ([self.ports.internal] if secure else []):
            if not port_is_free(port):
                raise DevstackError(
                    f"port {port} is taken by another process; stop it or choose other ports "
                    "with LEDGER_KAFKA_PORT / LEDGER_KAFKA_CONTROLLER_PORT / "
                    "LEDGER_KAFKA_INTERNAL_PORT"
                )

    def write_config(self, voters: list[NodePorts], security: KafkaSecurity | None) -> None:
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        (self.home / "server.properties").write_text(
            broker_properties(self.ports, voters, self.data_dir, security.tls if security else None)
        )
        (self.home / "log4j2.properties").write_text(
            LOG4J2_PROPERTIES.format(log_dir=self.home / "logs")
        )

    def format_once(
        self, java: str, libs: Path, cluster_id: str, admin_password: str | None
    ) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        command = [
            java,
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.home / "server.properties"),
        ]
        if admin_password is not None:
            command += ["--add-scram", f"{SCRAM_MECHANISM}=[name=admin,password={admin_password}]"]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=FORMAT_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise DevstackError(f"formatting Kafka storage failed: {result.stderr.strip()}")

    def start(self, java: str, libs: Path, heap_mb: int) -> None:
        self.process.start(
            [
                java,
                f"-Xms{min(256, heap_mb)}m",
                f"-Xmx{heap_mb}m",
                "-XX:+UseG1GC",
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                "-cp",
                f"{libs}/*",
                "kafka.Kafka",
                str(self.home / "server.properties"),
            ],
            cwd=self.home,
        )


class KafkaCluster:
    """`brokers` combined broker+controller nodes under `home`."""

    def __init__(
        self,
        settings: Settings,
        home: Path,
        brokers: int,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.settings = settings
        self.home = home
        self.security = security
        self.nodes = [
            KafkaNode(
                settings, home, node_ports(settings, n), "kafka" if brokers == 1 else f"kafka-{n}"
            )
            for n in range(1, brokers + 1)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.address for node in self.nodes)

    def preflight(self) -> None:
        jars.preflight(self.settings)

    def running(self) -> list[KafkaNode]:
        return [node for node in self.nodes if node.process.pid() is not None]

    def start(self) -> float | None:
        """Start the nodes that are not running; seconds until the cluster answered, or None
        when every node already ran."""
        stopped = [node for node in self.nodes if node.process.pid() is None]
        if not stopped:
            return None
        for node in stopped:
            node.check_ports(self.security is not None)
        java = jars.require_java()
        libs = jars.fetch_jars(self.settings)
        voters = [node.ports for node in self.nodes]
        cluster_id = self._cluster_id()
        heap_mb = max(NODE_HEAP_MIN_MB, self.settings.kafka_heap_mb // len(self.nodes))
        for node in stopped:
            node.write_config(voters, self.security)
            node.format_once(
                java, libs, cluster_id, self.security.admin_password if self.security else None
            )
        for node in stopped:
            node.start(java, libs, heap_mb)
        return wait_until(
            lambda: self._ready_or_dead(stopped), self.settings.services_ready_timeout_s, "Kafka"
        )

    def start_node(self, node: KafkaNode) -> float:
        """Start one node of a running cluster again (after a test killed it)."""
        java = jars.require_java()
        libs = jars.jars_dir(self.settings)
        heap_mb = max(NODE_HEAP_MIN_MB, self.settings.kafka_heap_mb // len(self.nodes))
        node.start(java, libs, heap_mb)
        return wait_until(
            lambda: self._ready_or_dead([node]), self.settings.services_ready_timeout_s, "Kafka"
        )

    def stop(self) -> list[str]:
        return [node.process.name for node in self.nodes if node.process.stop()]

    def _ready_or_dead(self, starting: list[KafkaNode]) -> bool:
        for node in starting:
            if node.process.exited_early():
                raise DevstackError(
                    f"Kafka node {node.ports.node_id} exited during start-up; see "
                    f"{node.home / 'logs'}: " + node.process.log_tail(1)
                )
        return self.answers()

    def answers(self) -> bool:
        """True when every node is in the cluster's metadata."""
        admin = AdminClient(self.admin_config({"log_level": 0}))
        try:
            metadata = admin.list_topics(timeout=1.0)
        except Exception:  # any KafkaException means "not yet"
            return False
        return len(metadata.brokers) >= len(self.nodes)

    def admin_config(self, extra: Mapping[str, KafkaValue] | None = None) -> dict[str, KafkaValue]:
        config: dict[str, KafkaValue] = {"bootstrap.servers": self.bootstrap}
        if self.security is not None:
            config.update(self.security.admin_client_config())
        config.update(extra or {})
        return config

    def _cluster_id(self) -> str:
        path = self.home / "kafka" / "cluster-id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id() + "\n")
        return path.read_text().strip()


def new_cluster_id() -> str:
    """A random cluster id in Kafka's form (a UUID in unpadded URL-safe base64).

    One in 64 such strings starts with '-', which the storage tool's command line reads as an
    option (`--cluster-id: expected one argument`); Kafka's own generator draws again in that
    case, and so does this one.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id
