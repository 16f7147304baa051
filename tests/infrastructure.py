"""Where the tests' Kafka broker and Redis server come from.

In order: the environment (`KAFKA_BOOTSTRAP_SERVERS` and `REDIS_URL` both set), testcontainers
when a Docker engine answers, else the project's own launcher (`ledger services up`). Whatever
the source, the services must answer: integration tests fail, never skip, when they do not.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from confluent_kafka.admin import AdminClient

from cli.devstack import Stack
from settings import Settings

KAFKA_IMAGE = "confluentinc/cp-kafka:8.1.0"  # Apache Kafka 4.1 in KRaft mode
REDIS_IMAGE = "redis:7.4"


@dataclass(frozen=True)
class Infrastructure:
    kafka_bootstrap_servers: str
    redis_url: str
    source: str


@contextlib.contextmanager
def provide_infrastructure() -> Iterator[Infrastructure]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    redis_url = os.environ.get("REDIS_URL")
    if bootstrap and redis_url:
        yield _verified(Infrastructure(bootstrap, redis_url, "environment"))
    elif _docker_engine_answers():
        with _containers() as infrastructure:
            yield _verified(infrastructure)
    else:
        yield from _launcher()


def _launcher() -> Iterator[Infrastructure]:
    stack = Stack(Settings.from_env(os.environ))
    was_running = all(status.answers for status in stack.status())
    stack.up()
    env = stack.environment()
    try:
        yield _verified(
            Infrastructure(env["KAFKA_BOOTSTRAP_SERVERS"], env["REDIS_URL"], "launcher")
        )
    finally:
        if not was_running:
            stack.down()


def _docker_engine_answers() -> bool:
    if not os.environ.get("DOCKER_HOST") and not os.path.exists("/var/run/docker.sock"):
        return False
    import docker  # type: ignore[import-untyped]

    try:
        client = docker.from_env(timeout=2)
    except Exception:  # no engine, no socket, no permission: all mean "not available"
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


@contextlib.contextmanager
def _containers() -> Iterator[Infrastructure]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.redis import RedisContainer
    with KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka, RedisContainer(REDIS_IMAGE) as cache:
        host = cache.get_container_host_ip()
        port = cache.get_exposed_port(6379)
        yield Infrastructure(kafka.get_bootstrap_server(), f"redis://{host}:{port}/0", "docker")


def _verified(infrastructure: Infrastructure) -> Infrastructure:
    admin = AdminClient({"bootstrap.servers": infrastructure.kafka_bootstrap_servers})
    brokers = admin.list_topics(timeout=30).brokers
    if not brokers:
        raise RuntimeError(f"Kafka at {infrastructure.kafka_bootstrap_servers} has no broker")
    client = redis.Redis.from_url(infrastructure.redis_url)
    try:
        client.ping()
    finally:
        client.close()
    return infrastructure
