"""MirrorMaker 2 in dedicated mode, replicating every region's journal to every other region.

One MirrorMaker process runs a flow each way between every pair of regions (`eu->us`,
`us->eu`). Kafka's default replication policy names a copy after its source region, so eu's
journal `rewards.events` appears in us as `eu.rewards.events`, and a copy is never copied back
(MirrorMaker sees the region in the name: no cycles).

Exactly once, as Kafka documents it for dedicated MirrorMaker (3.5+): every target cluster has
`exactly.once.source.support = enabled`, so each replicated batch and the source position it
came from are committed in one transaction on the target; the internal REST server is on,
which that mode needs to fence zombie tasks; and the source consumers read `read_committed`,
so an aborted core transaction is never copied. A reader of the copy that is read_committed
itself then sees each committed journal record exactly once, across MirrorMaker crashes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from confluent_kafka.admin import AdminClient

from cli.devstack import jars
from cli.devstack.errors import DevstackError
from cli.devstack.kafka import LOG4J2_PROPERTIES
from cli.devstack.process import ManagedProcess, port_is_free, wait_until
from settings import Settings

MAIN_CLASS = "org.apache.kafka.connect.mirror.MirrorMaker"
# How often MirrorMaker looks for new topics to replicate (default 10 minutes): a region's
# journal created after MirrorMaker started is replicated within seconds.
REFRESH_TOPICS_S = 5
# Topics of the ledger that travel between regions, by their name after the prefix.
REPLICATED = ("events", "directory", "outbox")
TRANSACTION_TIMEOUT_MS = 10_000
# Connect logs every client's whole configuration at INFO, megabytes a minute: kept to what
# says how replication goes.
QUIET_LOGGERS = """\
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.config.name = org.apache.kafka.common.config
logger.config.level = WARN
logger.plugins.name = org.apache.kafka.connect.runtime.isolation
logger.plugins.level = ERROR
"""


def replicated_topics_pattern() -> str:
    """MirrorMaker's `topics` regex: the ledger's replicated topics under any prefix (one
    stack may hold several deployments, as the tests' do)."""
    return ".*(" + "|".join(REPLICATED) + ")"


def excluded_topics_pattern(regions: Sequence[str]) -> str:
    """MirrorMaker's `topics.exclude`: its own defaults, and every copy (`eu.rewards.events`
    is eu's journal: with three regions, us must not pass it on to in, which has it from eu)."""
    copies = "(" + "|".join(re.escape(name) for name in regions) + r")\..*"
    return ", ".join((copies, r".*[\-\.]internal", r".*\.replica", "__.*"))


def mirrormaker_properties(clusters: Mapping[str, str], rest_port: int) -> str:
    """The dedicated-mode configuration for `clusters` (region -> bootstrap servers)."""
    names = list(clusters)
    lines = [
        f"clusters = {', '.join(names)}",
        *(f"{name}.bootstrap.servers = {servers}" for name, servers in clusters.items()),
        *(
            f"{source}->{target}.enabled = true"
            for source in names
            for target in names
            if source != target
        ),
        f"topics = {replicated_topics_pattern()}",
        f"topics.exclude = {excluded_topics_pattern(names)}",
        # Only the journal's records matter; consumer groups are each region's own (the
        # checkpoint connector runs, idle: disabling it is refused as an invalid config).
        "groups.exclude = .*",
        "sync.group.offsets.enabled = false",
        "sync.topic.acls.enabled = false",
        f"refresh.topics.interval.seconds = {REFRESH_TOPICS_S}",
        # Heartbeats (one a second per flow) prove a flow works end to end; `ledger services
        # up` waits for them, and replication lag can be read from their timestamps.
        "emit.heartbeats.interval.seconds = 1",
        # One broker per region on this machine: one replica of everything.
        "replication.factor = 1",
        "heartbeats.topic.replication.factor = 1",
        "checkpoints.topic.replication.factor = 1",
        "offset-syncs.topic.replication.factor = 1",
        "offset.storage.replication.factor = 1",
        "status.storage.replication.factor = 1",
        "config.storage.replication.factor = 1",
        *(f"{name}.exactly.once.source.support = enabled" for name in names),
        *(f"{name}.consumer.isolation.level = read_committed" for name in names),
        # After a crash, a restarted flow first reads its offsets topic read_committed to the
        # end, which the dead task's open transaction blocks until the broker aborts it: this
        # bounds that stall (the producers' default is 60 s), as the core's own timeout does.
        *(f"{name}.producer.transaction.timeout.ms = {TRANSACTION_TIMEOUT_MS}" for name in names),
        "dedicated.mode.enable.internal.rest = true",
        f"listeners = http://127.0.0.1:{rest_port}",
    ]
    return "\n".join(lines) + "\n"


class MirrorMaker:
    """The regions stack's MirrorMaker 2 process, under `<home>/mirrormaker`."""

    def __init__(self, settings: Settings, home: Path, clusters: Mapping[str, str]) -> None:
        self.settings = settings
        self.clusters = dict(clusters)
        self.home = home / "mirrormaker"
        self.config_file = self.home / "mm2.properties"
        self.process = ManagedProcess(
            name="mirrormaker",
            pid_file=self.home / "mirrormaker.pid",
            log_file=self.home / "logs" / "console.log",
            marker=str(self.config_file),
        )

    def preflight(self) -> None:
        jars.require_java()

    def start(self) -> float | None:
        """Start MirrorMaker unless it runs; seconds until every flow carried a heartbeat."""
        if self.process.pid() is not None:
            return None
        if not port_is_free(self.settings.mirrormaker_port):
            raise DevstackError(
                f"port {self.settings.mirrormaker_port} is taken by another process; choose "
                "another with LEDGER_MIRRORMAKER_PORT"
            )
        java = jars.require_java()
        libs = jars.fetch_mirrormaker_jars(self.settings)
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            mirrormaker_properties(self.clusters, self.settings.mirrormaker_port)
        )
        log4j = self.home / "log4j2.properties"
        log4j.write_text(LOG4J2_PROPERTIES.format(log_dir=self.home / "logs") + QUIET_LOGGERS)
        heap = self.settings.mirrormaker_heap_mb
        self.process.start(
            [
                java,
                f"-Xms{min(128, heap)}m",
                f"-Xmx{heap}m",
                "-XX:+UseG1GC",
                f"-Dlog4j2.configurationFile={log4j}",
                "-cp",
                f"{libs}/*",
                MAIN_CLASS,
                str(self.config_file),
            ],
            cwd=self.home,
        )
        return wait_until(
            self._flowing_or_dead, self.settings.services_ready_timeout_s, "MirrorMaker 2"
        )

    def stop(self) -> bool:
        return self.process.stop()

    def _flowing_or_dead(self) -> bool:
        if self.process.exited_early():
            raise DevstackError(
                f"MirrorMaker 2 exited during start-up; see {self.home / 'logs'}: "
                + self.process.log_tail(1)
            )
        return self.flowing()

    def flowing(self) -> bool:
        """True when every region holds every other region's replicated heartbeats topic."""
        for target, servers in self.clusters.items():
            admin = AdminClient({"bootstrap.servers": servers, "log_level": 0})
            try:
                topics = admin.list_topics(timeout=1.0).topics
            except Exception:  # any KafkaException means "not yet"
                return False
            if any(
                f"{source}.heartbeats" not in topics for source in self.clusters if source != target
            ):
                return False
        return True
