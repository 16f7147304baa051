"""What each node of the local cluster is told, plaintext or secure, one node or three."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cli.devstack.kafka_config import BrokerTls, broker_properties, node_ports
from cli.devstack.stack import StackShape
from settings import Settings

SETTINGS = replace(
    Settings(), kafka_port=9092, kafka_controller_port=9093, kafka_internal_port=9094
)
TLS = BrokerTls(Path("/s/broker.p12"), "pw", Path("/s/ca.pem"))


def _properties(brokers: int, tls: BrokerTls | None) -> dict[str, str]:
    voters = [node_ports(SETTINGS, n) for n in range(1, brokers + 1)]
    text = broker_properties(voters[0], voters, Path("/data"), tls)
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_three_nodes_replicate_three_times_and_acknowledge_on_two() -> None:
    properties = _properties(3, None)
    assert properties["controller.quorum.voters"] == (
        "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293"
    )
    assert properties["default.replication.factor"] == "3"
    assert properties["min.insync.replicas"] == "2"
    assert properties["transaction.state.log.min.isr"] == "2"
    assert properties["unclean.leader.election.enable"] == "false"


def test_one_node_replicates_once() -> None:
    properties = _properties(1, None)
    assert properties["default.replication.factor"] == "1"
    assert properties["min.insync.replicas"] == "1"
    assert "authorizer.class.name" not in properties


def test_a_secure_node_authorizes_everything_and_trusts_nobody_by_default() -> None:
    properties = _properties(3, TLS)
    assert properties["authorizer.class.name"].endswith("StandardAuthorizer")
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["super.users"] == "User:broker;User:admin"
    assert properties["listener.security.protocol.map"] == (
        "SASL_SSL:SASL_SSL,BROKER:SSL,CONTROLLER:SSL"
    )
    assert properties["listener.name.broker.ssl.client.auth"] == "required"
    assert properties["listener.name.controller.ssl.client.auth"] == "required"
    assert "PLAINTEXT" not in properties["listeners"]


def test_each_shape_has_its_own_home_and_the_everyday_one_keeps_the_old() -> None:
    root = Path("/d")
    assert StackShape().home(root) == root
    assert StackShape(secure=True).home(root) == root / "stacks" / "secure"
    assert StackShape(brokers=3).home(root) == root / "stacks" / "brokers-3"
    assert StackShape(True, 3).home(root) == root / "stacks" / "secure-brokers-3"
