"""`ensure_topics` creates the ledger's layout and refuses a mismatched one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource

from processors.topics import TopicLayoutError, TopicSpec, ensure_topics, ledger_topics
from settings import Settings


def _config(admin: AdminClient, topic: str) -> dict[str, str]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource])[resource].result()
    return {key: entry.value for key, entry in entries.items()}


def test_creates_every_topic_with_its_partitions_and_configs(
    settings: Settings, admin: AdminClient
) -> None:
    specs = ledger_topics(settings)
    report = ensure_topics(admin, specs)
    assert sorted(report.created) == sorted(s.name for s in specs)

    metadata = admin.list_topics(timeout=30)
    names = settings.topics
    for name in (names.requests, names.events, names.state_changelog):
        assert len(metadata.topics[name].partitions) == settings.partitions
    assert _config(admin, names.state_changelog)["cleanup.policy"] == "compact"
    journal = _config(admin, names.events)
    assert (journal["cleanup.policy"], journal["retention.ms"]) == ("delete", "-1")
    assert _config(admin, names.requests_dlq)["retention.ms"] == "-1"

    again = ensure_topics(admin, specs)
    assert again.created == [] and sorted(again.existing) == sorted(s.name for s in specs)


def test_refuses_an_existing_topic_with_another_partition_count(
    settings: Settings, admin: AdminClient
) -> None:
    ensure_topics(admin, ledger_topics(replace(settings, partitions=2)))
    with pytest.raises(TopicLayoutError, match=r"has 2 partitions, the ledger needs 3"):
        ensure_topics(admin, ledger_topics(settings))


def test_refuses_a_changelog_that_is_not_compacted(settings: Settings, admin: AdminClient) -> None:
    changelog = settings.topics.state_changelog
    ensure_topics(admin, [TopicSpec(changelog, settings.partitions, {"cleanup.policy": "delete"})])
    with pytest.raises(TopicLayoutError, match=r"cleanup.policy=delete, the ledger needs compact"):
        ensure_topics(admin, ledger_topics(settings))
