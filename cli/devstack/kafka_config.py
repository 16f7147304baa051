"""The broker's `server.properties` for each node of the local cluster, plaintext or secure.

Pure text from ports and paths, so a unit test can read what a secure broker is told.

Every node is both broker and controller (KRaft combined mode, as small production clusters
run): one node for the everyday stack, three for a replicated one, where the quorum survives
the loss of any node. The secure listeners:

    SASL_SSL   clients: TLS, then SCRAM-SHA-512 names the principal the ACLs speak of
    BROKER     broker to broker (replication): mutual TLS, the certificate's CN is the principal
    CONTROLLER broker to controller (metadata): mutual TLS as well

`broker` and `admin` are the only super users; nobody else may do anything the ACLs do not
grant (`allow.everyone.if.no.acl.found=false`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from settings import Settings

NODE_PORT_STEP = 100
SUPER_USERS = ("broker", "admin")
SCRAM_MECHANISM = "SCRAM-SHA-512"
# A certificate's subject `CN=broker` is the principal `broker` (no comma inside the pattern:
# the broker splits its rule list on commas).
PRINCIPAL_MAPPING = "RULE:^CN=([a-zA-Z0-9.-]+)$/$1/,DEFAULT"


@dataclass(frozen=True)
class NodePorts:
    node_id: int
    client: int
    controller: int
    internal: int


@dataclass(frozen=True)
class BrokerTls:
    keystore: Path  # PKCS#12: the node's key and certificate (CN=broker)
    keystore_password: str
    truststore: Path  # PEM: the CA


def node_ports(settings: Settings, node_id: int) -> NodePorts:
    """Node n listens on each configured port + 100 * (n - 1)."""
    step = NODE_PORT_STEP * (node_id - 1)
    return NodePorts(
        node_id,
        settings.kafka_port + step,
        settings.kafka_controller_port + step,
        settings.kafka_internal_port + step,
    )


def replication(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) the cluster gives its topics by default.

    Three brokers: 3 and 2, so a write is on two brokers before it is acknowledged and any one
    broker may be lost. Fewer: all there is.
    """
    factor = min(3, brokers)
    return factor, 2 if factor >= 3 else 1


def broker_properties(
    node: NodePorts, voters: Sequence[NodePorts], data_dir: Path, tls: BrokerTls | None
) -> str:
    factor, min_isr = replication(len(voters))
    lines = [
        "process.roles=broker,controller",
        f"node.id={node.node_id}",
        "controller.quorum.voters="
        + ",".join(f"{v.node_id}@127.0.0.1:{v.controller}" for v in voters),
        "controller.listener.names=CONTROLLER",
        f"log.dirs={data_dir}",
        "num.partitions=1",
        f"default.replication.factor={factor}",
        f"min.insync.replicas={min_isr}",
        f"offsets.topic.replication.factor={factor}",
        "offsets.topic.num.partitions=10",
        f"transaction.state.log.replication.factor={factor}",
        f"transaction.state.log.min.isr={min_isr}",
        "transaction.state.log.num.partitions=10",
        f"share.coordinator.state.topic.replication.factor={factor}",
        f"share.coordinator.state.topic.min.isr={min_isr}",
        # A lost leader's replacement must have every acknowledged write.
        "unclean.leader.election.enable=false",
        # Groups start without the delay that only helps when many members join at once.
        "group.initial.rebalance.delay.ms=0",
    ]
    return "\n".join(lines + (_secure(node, tls) if tls else _plaintext(node))) + "\n"


def _plaintext(node: NodePorts) -> list[str]:
    return [
        f"listeners=PLAINTEXT://127.0.0.1:{node.client},CONTROLLER://127.0.0.1:{node.controller}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{node.client}",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    ]


def _secure(node: NodePorts, tls: BrokerTls) -> list[str]:
    return [
        f"listeners=SASL_SSL://127.0.0.1:{node.client},BROKER://127.0.0.1:{node.internal},"
        f"CONTROLLER://127.0.0.1:{node.controller}",
        f"advertised.listeners=SASL_SSL://127.0.0.1:{node.client},"
        f"BROKER://127.0.0.1:{node.internal}",
        "inter.broker.listener.name=BROKER",
        "listener.security.protocol.map=SASL_SSL:SASL_SSL,BROKER:SSL,CONTROLLER:SSL",
        f"sasl.enabled.mechanisms={SCRAM_MECHANISM}",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "listener.name.broker.ssl.client.auth=required",
        "listener.name.controller.ssl.client.auth=required",
        "ssl.keystore.type=PKCS12",
        f"ssl.keystore.location={tls.keystore}",
        f"ssl.keystore.password={tls.keystore_password}",
        f"ssl.key.password={tls.keystore_password}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={tls.truststore}",
        f"ssl.principal.mapping.rules={PRINCIPAL_MAPPING}",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        "super.users=" + ";".join(f"User:{name}" for name in SUPER_USERS),
    ]
