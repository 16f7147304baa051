"""The secure local stack (`ledger services up --secure`) for the tests of this package.

One stack per package run (tests/support/stacks.py): a broker with TLS listeners, SCRAM users,
KRaft's StandardAuthorizer and the ACLs of config/access.toml, and a Redis with TLS and ACL
users. Each test deploys the ledger's topics under a prefix of its own (with the file's ACLs
for that prefix), so tests never read each other's records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from confluent_kafka.admin import AdminClient

from cli.access import kafka_acls
from cli.devstack import Stack, StackShape
from processors.topics import ensure_topics, ledger_topics
from settings import Settings
from tests.support.stacks import running_stack


@pytest.fixture(scope="package")
def secure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("secure"), StackShape(secure=True)) as stack:
        yield stack


def deploy(stack: Stack, name: str) -> Settings:
    """The ledger's topics under `<name>.`, created by the admin, with the access file's ACLs."""
    settings = replace(
        stack.settings,
        topic_prefix=f"{name}.",
        core_group_id=f"{name}-core",
        notify_group_id=f"{name}-notify",
    )
    admin = AdminClient(stack.kafka.admin_config())
    ensure_topics(admin, ledger_topics(settings))
    kafka_acls.apply(admin, kafka_acls.plan(admin, stack.policy(), settings))
    return settings


def as_principal(stack: Stack, settings: Settings, principal: str) -> Settings:
    """`settings`, with the credentials of `principal` (`admin`: the cluster's super user)."""
    own = stack.settings_for(principal)
    return replace(
        settings,
        kafka_bootstrap_servers=own.kafka_bootstrap_servers,
        kafka_client_config=own.kafka_client_config,
        redis_url=own.redis_url,
    )
