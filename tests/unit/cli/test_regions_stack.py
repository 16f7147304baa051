"""The regions stack's pure parts: MirrorMaker 2's configuration and each region's ports."""

from __future__ import annotations

import re

import pytest

from cli.devstack.errors import DevstackError
from cli.devstack.mirrormaker import mirrormaker_properties, replicated_topics_pattern
from cli.devstack.regions import RegionsStack, region_settings
from settings import Settings
from settings.regions import parse_regions
from settings.variables import SettingsError


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split(" = ", 1) for line in text.splitlines() if " = " in line)
    return {key: value for key, value in pairs}


def test_every_flow_is_exactly_once_and_reads_only_committed_records() -> None:
    config = _properties(mirrormaker_properties({"eu": "h:1", "us": "h:2", "in": "h:3"}, 9089))
    assert config["clusters"] == "eu, us, in"
    flows = {key for key, value in config.items() if key.endswith(".enabled") and "->" in key}
    assert len(flows) == 6 and all(config[flow] == "true" for flow in flows)
    for region in ("eu", "us", "in"):
        assert config[f"{region}.exactly.once.source.support"] == "enabled"
        assert config[f"{region}.consumer.isolation.level"] == "read_committed"
    assert config["dedicated.mode.enable.internal.rest"] == "true"
    assert config["listeners"] == "http://127.0.0.1:9089"


def test_only_the_ledgers_replicated_topics_travel_and_copies_are_not_copied_again() -> None:
    config = _properties(mirrormaker_properties({"eu": "h:1", "us": "h:2", "in": "h:3"}, 1))
    included = re.compile(config["topics"])
    excluded = [re.compile(p.strip()) for p in config["topics.exclude"].split(", ")]

    def travels(topic: str) -> bool:
        return bool(included.fullmatch(topic)) and not any(p.fullmatch(topic) for p in excluded)

    for topic in ("rewards.events", "rewards.directory", "rewards.outbox", "t1.events"):
        assert travels(topic), topic
    for topic in (
        "rewards.requests",
        "rewards.state-changelog",
        "eu.rewards.events",
        "us.t1.outbox",
        "mm2-offsets.eu.internal",
        "__consumer_offsets",
    ):
        assert not travels(topic), topic
    assert replicated_topics_pattern() == config["topics"]


def test_each_region_moves_every_port_by_a_thousand_and_the_first_keeps_them() -> None:
    base = Settings()
    eu = region_settings(base, ("eu", "us"), "eu")
    us = region_settings(base, ("eu", "us"), "us")
    assert eu.kafka_port == base.kafka_port and eu.redis_port == base.redis_port
    assert us.kafka_port == base.kafka_port + 1000
    assert us.gateway_port == base.gateway_port + 1000
    assert us.core_metrics_port == base.core_metrics_port + 1000
    assert us.kafka_bootstrap_servers == f"127.0.0.1:{base.kafka_port + 1000}"
    assert us.redis_url == f"redis://127.0.0.1:{base.redis_port + 1000}/0"
    assert (us.region, us.regions, us.other_regions) == ("us", "eu,us", ("eu",))
    assert us.kafka_heap_mb == base.kafka_heap_mb // 2


def test_region_names_are_checked() -> None:
    assert parse_regions("eu, us") == ("eu", "us")
    for bad in ("eu,eu", "EU", "e.u", "1eu"):
        with pytest.raises(SettingsError):
            parse_regions(bad)
    with pytest.raises(SettingsError, match="LEDGER_REGION="):
        parse_regions("eu,us", "in")
    with pytest.raises(SettingsError):
        Settings.from_env({"LEDGER_REGIONS": "eu,us", "LEDGER_REGION": "in"})
    with pytest.raises(DevstackError, match="two regions"):
        RegionsStack(Settings(), ["eu"])
