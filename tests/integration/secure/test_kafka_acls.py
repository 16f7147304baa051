"""The broker enforces config/access.toml: every principal writes only what its grant names,
a forged transactional id is refused, a partner cannot read the journal, a wrong password
cannot connect. Expectations are written out here, not derived from the file, so a change to
the file that widens a grant fails this test."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from cli.devstack import Stack
from tests.integration.secure.conftest import as_principal, deploy

TOPICS = (
    "requests",
    "operator-requests",
    "internal-requests",
    "events",
    "state-changelog",
    "state-receipts",
    "state-reversibles",
    "requests.dlq",
    "notifications.dlq",
)
MAY_WRITE = {
    "partner-acme": {"requests"},
    "partner-globex": {"requests"},
    "gateway": {"requests", "operator-requests"},
    "operator": {"operator-requests"},
    "core": {
        "events",
        "state-changelog",
        "state-receipts",
        "state-reversibles",
        "internal-requests",
        "requests.dlq",
        # forwarding a misrouted record to its account's partition
        "requests",
        "operator-requests",
    },
    "mirror": set(),
    "auditor": set(),
    "notifier": {"notifications.dlq"},
}
TIMEOUT_S = 30
READ_WAIT_S = 8


def _client_config(stack: Stack, prefix: str, principal: str) -> dict[str, object]:
    settings = as_principal(stack, stack.settings, principal)
    return dict(settings.kafka_config({"message.timeout.ms": 15_000}))


@pytest.mark.parametrize("principal", sorted(MAY_WRITE))
def test_each_principal_writes_only_the_topics_it_is_granted(
    secure_stack: Stack, principal: str
) -> None:
    settings = deploy(secure_stack, f"w{uuid.uuid4().hex[:8]}")
    producer = Producer(_client_config(secure_stack, settings.topic_prefix, principal))
    outcomes: dict[str, KafkaError | None] = {}

    def delivered(error: KafkaError | None, message: Message) -> None:
        outcomes[(message.topic() or "").removeprefix(settings.topic_prefix)] = error

    for topic in TOPICS:
        producer.produce(
            settings.topic_prefix + topic, b"probe", b"acme:probe", on_delivery=delivered
        )
    assert producer.flush(TIMEOUT_S) == 0
    for topic in TOPICS:
        error = outcomes[topic]
        if topic in MAY_WRITE[principal]:
            assert error is None, (principal, topic, error)
        else:
            assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, (
                principal,
                topic,
                error,
            )


def test_a_partner_cannot_take_the_cores_transactional_id(secure_stack: Stack) -> None:
    """Fencing is per transactional id: whoever may use the core's could abort its work."""
    settings = deploy(secure_stack, f"x{uuid.uuid4().hex[:8]}")
    partner = _client_config(secure_stack, settings.topic_prefix, "partner-acme")
    forged = Producer({**partner, "transactional.id": f"{settings.core_group_id}.core-1"})
    with pytest.raises(KafkaException) as refused:
        forged.init_transactions(TIMEOUT_S)
    assert refused.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED

    core = _client_config(secure_stack, settings.topic_prefix, "core")
    own = Producer({**core, "transactional.id": f"{settings.core_group_id}.core-1"})
    own.init_transactions(TIMEOUT_S)  # the core itself may


def test_a_partner_cannot_read_the_journal(secure_stack: Stack) -> None:
    settings = deploy(secure_stack, f"r{uuid.uuid4().hex[:8]}")
    _write(secure_stack, "core", settings.topics.events)
    read, errors = _read(secure_stack, "partner-acme", "partner-acme-peek", settings.topics.events)
    assert read == 0
    # It has no group either; whichever the broker checks first refuses it.
    assert errors and errors[0] in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
    )


def test_a_reader_of_the_journal_reads_nothing_else(secure_stack: Stack) -> None:
    """The mirror's own group is granted, so only the topic grant tells the two reads apart."""
    settings = deploy(secure_stack, f"m{uuid.uuid4().hex[:8]}")
    group = f"{settings.topic_prefix}mirror"
    _write(secure_stack, "core", settings.topics.events)
    _write(secure_stack, "partner-acme", settings.topics.requests)
    assert _read(secure_stack, "mirror", group, settings.topics.events) == (1, [])
    assert _read(secure_stack, "mirror", group, settings.topics.requests)[0] == 0


def _write(stack: Stack, principal: str, topic: str) -> None:
    producer = Producer(_client_config(stack, "", principal))
    producer.produce(topic, b"record", b"acme:ann", partition=0)
    assert producer.flush(TIMEOUT_S) == 0


def _read(stack: Stack, principal: str, group: str, topic: str) -> tuple[int, list[int]]:
    """Records read from partition 0 of `topic` in a few seconds, and the errors met."""
    config = _client_config(stack, "", principal)
    consumer = Consumer({**config, "group.id": group, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    read, errors = 0, list[int]()
    deadline = time.monotonic() + READ_WAIT_S
    try:
        while time.monotonic() < deadline and not errors:
            message = consumer.poll(0.5)
            error = None if message is None else message.error()
            if message is not None and error is None:
                read += 1
            elif error is not None and error.code() != KafkaError._PARTITION_EOF:
                errors.append(error.code())
    finally:
        consumer.close()
    return read, errors


def test_a_wrong_password_cannot_connect(secure_stack: Stack) -> None:
    config = _client_config(secure_stack, "", "partner-acme")
    errors: list[KafkaError] = []
    producer = Producer({**config, "sasl.password": "guess", "error_cb": errors.append})
    deadline = time.monotonic() + TIMEOUT_S
    while not errors and time.monotonic() < deadline:
        producer.poll(0.5)
    assert errors and errors[0].code() == KafkaError._AUTHENTICATION, errors
