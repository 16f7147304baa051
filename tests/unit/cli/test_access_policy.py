"""The access file resolved for a deployment: what each principal may do on Kafka and Redis."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cli.access.errors import AccessError
from cli.access.policy import (
    KafkaGrant,
    Operation,
    ResourceKind,
    kafka_grants,
    load_policy,
    parse_policy,
    redis_rules,
)
from settings import Settings

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = replace(Settings(), topic_prefix="eu.", redis_key_prefix="rl:", core_group_id="core")


def _grants_of(principal: str) -> set[KafkaGrant]:
    policy = load_policy(ROOT / "config" / "access.toml")
    return {g for g in kafka_grants(policy, SETTINGS) if g.principal == principal}


def test_a_partner_may_only_write_the_public_topic() -> None:
    assert _grants_of("partner-acme") == {
        KafkaGrant("partner-acme", ResourceKind.TOPIC, "eu.requests", False, Operation.WRITE)
    }


def test_only_the_core_writes_the_journal_and_holds_its_transactional_ids() -> None:
    policy = load_policy(ROOT / "config" / "access.toml")
    grants = kafka_grants(policy, SETTINGS)
    journal_writers = {
        g.principal for g in grants if g.name == "eu.events" and g.operation is Operation.WRITE
    }
    assert journal_writers == {"core"}
    assert (
        KafkaGrant("core", ResourceKind.TRANSACTIONAL_ID, "core.", True, Operation.WRITE) in grants
    )


def test_redis_users_never_get_admin_or_dangerous_commands_and_keys_are_prefixed() -> None:
    rules = redis_rules(load_policy(ROOT / "config" / "access.toml"), SETTINGS)
    for user_rules in rules.values():
        assert user_rules[:4] == ["on", "resetkeys", "resetchannels", "-@all"]
        assert "-@admin" in user_rules and "-@dangerous" in user_rules
        assert all(r.startswith(("~rl:", "%R~rl:", "&rl:")) for r in user_rules if "~" in r)
    assert "~rl:gw:*" in rules["gateway"] and "~rl:live" not in rules["gateway"]
    assert "~rl:live" in rules["mirror"]
    assert "core" not in rules  # the core never touches Redis


def test_a_glob_character_in_the_key_prefix_is_escaped() -> None:
    rules = redis_rules(
        load_policy(ROOT / "config" / "access.toml"), replace(SETTINGS, redis_key_prefix="a*:")
    )
    assert "~a\\*:live" in rules["mirror"]


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ({"principals": {"admin": {}}}, "reserved"),
        ({"principals": {"Bad Name": {}}}, "lowercase"),
        ({"principals": {"p": {"kafka": {"wrte": ["x"]}}}}, "wrte"),
        ({"principals": {"p": {"redis": {"commands": ["FLUSHALL"]}}}}, "command rule"),
        ({"roles": {}}, "unknown section"),
        ({"principals": {}}, "names no principal"),
    ],
)
def test_a_malformed_file_is_refused_with_a_reason(raw: dict[str, object], complaint: str) -> None:
    with pytest.raises(AccessError, match=complaint):
        parse_policy(raw)


def test_a_wildcard_inside_a_name_is_refused() -> None:
    policy = parse_policy({"principals": {"p": {"kafka": {"read": ["ev*ents"]}}}})
    with pytest.raises(AccessError, match="may end in"):
        kafka_grants(policy, SETTINGS)
