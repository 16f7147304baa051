"""A single-node Apache Kafka broker in KRaft mode, run from its Maven Central jars on Java 17."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

from cli.devstack.errors import DevstackError
from cli.devstack.process import ManagedProcess, port_is_free, wait_until
from ledger.settings import Settings

POM = Path(__file__).resolve().parents[2] / "infra" / "kafka" / "pom.xml"
JAVA_MAJOR_MIN = 17
MVN_TIMEOUT_S = 900
FORMAT_TIMEOUT_S = 120

# One node: every internal topic has one replica, and groups start without the rebalance
# delay that only helps clusters where many members join at once.
BROKER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data_dir}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
"""

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


class KafkaBroker:
    def __init__(self, settings: Settings, root: Path) -> None:
        self.settings = settings
        self.home = root / "kafka"
        self.libs = self.home / "libs" / settings.kafka_version
        self.data_dir = self.home / "data"
        self.process = ManagedProcess(
            name="kafka",
            pid_file=self.home / "kafka.pid",
            log_file=self.home / "logs" / "console.log",
            marker=str(self.home / "server.properties"),
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    def preflight(self) -> None:
        require_java()
        if not (self.libs / ".complete").exists() and shutil.which("mvn") is None:
            raise DevstackError(
                "mvn not found on PATH: it fetches the Kafka jars once (apt-get install maven)"
            )

    def start(self) -> float | None:
        """Start the broker unless it runs; return seconds until it answered, None if it ran."""
        if self.process.pid() is not None:
            return None  # already running
        for port in (self.settings.kafka_port, self.settings.kafka_controller_port):
            if not port_is_free(port):
                raise DevstackError(
                    f"port {port} is taken by another process; stop it or choose another port "
                    "with LEDGER_KAFKA_PORT / LEDGER_KAFKA_CONTROLLER_PORT"
                )
        java = require_java()
        self.fetch_jars()
        self._write_config()
        self._format_storage_once(java)
        self.process.start(
            [
                java,
                "-Xms256m",
                f"-Xmx{self.settings.kafka_heap_mb}m",
                "-XX:+UseG1GC",
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                "-cp",
                f"{self.libs}/*",
                "kafka.Kafka",
                str(self.home / "server.properties"),
            ],
            cwd=self.home,
        )
        return wait_until(self._ready_or_dead, self.settings.services_ready_timeout_s, "Kafka")

    def _ready_or_dead(self) -> bool:
        if self.process.exited_early():
            raise DevstackError(
                f"Kafka exited during start-up; see {self.home / 'logs'}: "
                + self.process.log_tail(1)
            )
        return self.answers()

    def answers(self) -> bool:
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        try:
            metadata = admin.list_topics(timeout=1.0)
        except Exception:  # any KafkaException means "not yet"
            return False
        return bool(metadata.brokers)

    def fetch_jars(self) -> None:
        """Download the broker's jars with Maven once; later starts reuse the cache."""
        if (self.libs / ".complete").exists():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise DevstackError(
                "mvn not found on PATH: it fetches the Kafka jars once (apt-get install maven)"
            )
        self.libs.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-Dkafka.version={self.settings.kafka_version}",
                f"-DoutputDirectory={self.libs}",
            ],
            capture_output=True,
            text=True,
            timeout=MVN_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            last = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
            raise DevstackError(
                f"mvn could not fetch Kafka {self.settings.kafka_version}: {last[0]}"
            )
        (self.libs / ".complete").write_text(self.settings.kafka_version + "\n")

    def _write_config(self) -> None:
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        (self.home / "server.properties").write_text(
            BROKER_PROPERTIES.format(
                port=self.settings.kafka_port,
                controller_port=self.settings.kafka_controller_port,
                data_dir=self.data_dir,
            )
        )
        (self.home / "log4j2.properties").write_text(
            LOG4J2_PROPERTIES.format(log_dir=self.home / "logs")
        )

    def _format_storage_once(self, java: str) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_id = new_cluster_id()
        result = subprocess.run(
            [
                java,
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                "-cp",
                f"{self.libs}/*",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.home / "server.properties"),
            ],
            capture_output=True,
            text=True,
            timeout=FORMAT_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise DevstackError(f"formatting Kafka storage failed: {result.stderr.strip()}")


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


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise DevstackError(
            "java not found on PATH: the Kafka broker needs a Java 17+ runtime "
            "(apt-get install openjdk-17-jre-headless)"
        )
    probe = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', probe.stderr + probe.stdout)
    if match is None or int(match.group(1)) < JAVA_MAJOR_MIN:
        found = match.group(1) if match else "unknown"
        raise DevstackError(f"Kafka needs Java {JAVA_MAJOR_MIN}+, found Java {found} at {java}")
    return java
