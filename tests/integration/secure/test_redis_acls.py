"""Redis enforces config/access.toml: TLS only, no anonymous user, and each component's user
touches only its own keys. Expectations are written out here, not derived from the file."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from cli.devstack import Stack

PREFIX = "rl:"
MODEL_KEY = PREFIX + "live"
GATEWAY_KEY = PREFIX + "gw:apikey:probe"
AUDIT_KEY = PREFIX + "audit:last"
Connect = Callable[..., redis.Redis]
# (principal, key) -> may it SET the key?
MAY_SET = {
    ("mirror", MODEL_KEY): True,
    ("mirror", GATEWAY_KEY): False,
    ("mirror", AUDIT_KEY): False,
    ("gateway", MODEL_KEY): False,
    ("gateway", GATEWAY_KEY): True,
    ("gateway", AUDIT_KEY): False,
    ("auditor", MODEL_KEY): False,
    ("auditor", GATEWAY_KEY): False,
    ("auditor", AUDIT_KEY): True,
    ("operator", MODEL_KEY): True,
    ("operator", GATEWAY_KEY): True,
}


@pytest.fixture
def connect(secure_stack: Stack) -> Iterator[Connect]:
    clients: list[redis.Redis] = []

    def as_user(principal: str, password: str | None = None) -> redis.Redis:
        url = secure_stack.redis.url_for(
            principal, password or secure_stack.credentials.password(principal)
        )
        clients.append(redis.Redis.from_url(url, socket_timeout=10))
        return clients[-1]

    yield as_user
    for client in clients:
        client.close()


def _tls_without_user(stack: Stack) -> redis.Redis:
    return redis.Redis(
        port=stack.settings.redis_port,
        ssl=True,
        ssl_ca_certs=str(stack.authority.ca_certificate),
        socket_timeout=10,
    )


@pytest.mark.parametrize(("principal", "key"), sorted(MAY_SET))
def test_each_user_writes_only_its_own_keys(connect: Connect, principal: str, key: str) -> None:
    client = connect(principal)
    if MAY_SET[(principal, key)]:
        assert client.set(key, "x")
    else:
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.set(key, "x")


def test_the_gateway_and_the_auditor_read_the_model(connect: Connect) -> None:
    connect("mirror").set(MODEL_KEY, "g1-test")
    assert connect("gateway").get(MODEL_KEY) == b"g1-test"
    assert connect("auditor").get(MODEL_KEY) == b"g1-test"


@pytest.mark.parametrize("principal", ["mirror", "gateway", "auditor", "operator"])
def test_nobody_may_flush_list_or_reconfigure(connect: Connect, principal: str) -> None:
    client = connect(principal)
    for command in (("FLUSHALL",), ("KEYS", "*"), ("CONFIG", "GET", "*"), ("ACL", "LIST")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.execute_command(*command)  # type: ignore[no-untyped-call]


def test_keys_outside_the_deployment_prefix_are_refused(connect: Connect) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        connect("operator").set("other:key", "x")


def test_no_anonymous_or_wrong_password_or_plaintext(secure_stack: Stack, connect: Connect) -> None:
    anonymous = _tls_without_user(secure_stack)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.get(MODEL_KEY)
    anonymous.close()
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect("gateway", "guess").ping()
    plaintext = redis.Redis(port=secure_stack.settings.redis_port, socket_timeout=5)
    with pytest.raises(redis.exceptions.ConnectionError):
        plaintext.ping()
    plaintext.close()
