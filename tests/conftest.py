"""Session-wide real Kafka + Redis, and per-test isolation (unique topic and key prefixes)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from confluent_kafka.admin import AdminClient

from processors.topics import delete_topics, ensure_topics, ledger_topics
from settings import Settings
from tests.infrastructure import Infrastructure, provide_infrastructure

TEST_PARTITIONS = 3
INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    with provide_infrastructure() as provided:
        yield provided


@pytest.fixture
def settings(infrastructure: Infrastructure) -> Iterator[Settings]:
    """Settings of one test: the shared servers, but topics and keys nobody else uses.

    Every topic under the test's prefix is deleted afterwards, whoever created it.
    """
    unique = uuid.uuid4().hex[:10]
    base = Settings.from_env(os.environ)
    isolated = replace(
        base,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        redis_url=infrastructure.redis_url,
        topic_prefix=f"t{unique}.",
        redis_key_prefix=f"t{unique}:",
        partitions=TEST_PARTITIONS,
    )
    yield isolated
    admin = AdminClient(isolated.kafka_config())
    leftovers = [
        t for t in admin.list_topics(timeout=30).topics if t.startswith(isolated.topic_prefix)
    ]
    delete_topics(admin, leftovers)


@pytest.fixture
def admin(settings: Settings) -> AdminClient:
    return AdminClient(settings.kafka_config())


@pytest.fixture
def topics(settings: Settings, admin: AdminClient) -> Settings:
    """Creates the ledger's topics under the test's own prefix."""
    ensure_topics(admin, ledger_topics(settings))
    return settings


@pytest.fixture
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
