"""The ledger's topics (ARCHITECTURE.md §2), their configurations, and idempotent creation.

`ensure_topics` creates what is missing and refuses to go on when an existing topic disagrees
with the layout in a way that would break correctness: a different partition count moves
accounts to other partitions (their state would be looked up in the wrong place), and a
changelog that is not compacted loses state.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.cimpl import NewTopic

from processors.errors import ProcessorError
from settings import Settings

ADMIN_TIMEOUT_S = 30.0
METADATA_POLL_S = 0.2
RETAIN_FOREVER = "-1"


class TopicLayoutError(ProcessorError):
    """An existing topic does not match the ledger's layout; the message says which and how."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)
    # Config keys whose existing value must match, or the topic is refused.
    enforced: tuple[str, ...] = ()
    # Replicas per partition; None: the broker's default.replication.factor.
    replication_factor: int | None = None


def ledger_topics(settings: Settings, partitions: int | None = None) -> list[TopicSpec]:
    """The ledger's topics, replicated as the settings ask (the broker's defaults otherwise)."""
    specs = _layout(settings, partitions or settings.partitions)
    if settings.region:
        # Requests on their way to another region, kept like the transfer legs: an unread one
        # is a request not yet applied.
        specs.append(
            TopicSpec(
                settings.topics.outbox,
                partitions or settings.partitions,
                {"retention.ms": RETAIN_FOREVER, "retention.bytes": RETAIN_FOREVER},
                enforced=("retention.ms",),
            )
        )
        # Homes of moved accounts: the latest entry per account is all a reader needs.
        specs.append(
            TopicSpec(
                settings.topics.directory,
                partitions or settings.partitions,
                {"cleanup.policy": "compact"},
                enforced=("cleanup.policy",),
            )
        )
    # Other regions' journals, outboxes and directories, as MirrorMaker 2 copies them here:
    # created with their layout before MirrorMaker does, so readers here subscribe from the start.
    copied = (settings.topics.events, settings.topics.outbox, settings.topics.directory)
    specs += [
        replace(spec, name=f"{source}.{spec.name}")
        for source in settings.other_regions
        for spec in specs
        if spec.name in copied
    ]
    durability = {}
    if settings.topic_min_insync_replicas is not None:
        durability["min.insync.replicas"] = str(settings.topic_min_insync_replicas)
    return [
        replace(
            spec,
            config={**spec.config, **durability},
            enforced=spec.enforced + tuple(durability),
            replication_factor=settings.topic_replication_factor,
        )
        for spec in specs
    ]


def _layout(settings: Settings, n: int) -> list[TopicSpec]:
    topics = settings.topics
    return [
        TopicSpec(topics.requests, n),
        # Elevated operations (ADJUST): the ACLs on this topic are the operator's grant.
        TopicSpec(topics.operator_requests, n),
        # Transfer legs, written only by the core. An unconsumed leg is value in @transit, so
        # nothing is ever deleted by age; the core deletes what it has consumed (committed).
        TopicSpec(
            topics.internal_requests,
            n,
            {"retention.ms": RETAIN_FOREVER, "retention.bytes": RETAIN_FOREVER},
            enforced=("retention.ms",),
        ),
        # The journal is the system of record: nothing is ever deleted from it.
        TopicSpec(
            topics.events,
            n,
            {
                "cleanup.policy": "delete",
                "retention.ms": RETAIN_FOREVER,
                "retention.bytes": RETAIN_FOREVER,
            },
            enforced=("cleanup.policy", "retention.ms"),
        ),
        TopicSpec(
            topics.state_changelog,
            n,
            {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
            enforced=("cleanup.policy",),
        ),
        # The rest of an account's state, one small record per request id, so that a busy
        # account's state record stays small: receipts and reversal records, tombstoned when
        # they leave their window.
        *(
            TopicSpec(
                name,
                n,
                {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
                enforced=("cleanup.policy",),
            )
            for name in (topics.state_receipts, topics.state_reversibles)
        ),
        # Poison input is kept until an operator has looked at it.
        TopicSpec(
            topics.requests_dlq,
            1,
            {"retention.ms": RETAIN_FOREVER},
        ),
        # Program definitions: one record per version, each its own key, never deleted;
        # one partition keeps them in the order they were written.
        TopicSpec(
            topics.programs,
            1,
            {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
            enforced=("cleanup.policy",),
        ),
        # Notifications a partner never accepted, until `ledger notify redeliver`.
        TopicSpec(topics.notifications_dlq, 1, {"retention.ms": RETAIN_FOREVER}),
    ]


@dataclass(frozen=True)
class EnsureReport:
    created: list[str]
    existing: list[str]


def ensure_topics(admin: AdminClient, specs: Sequence[TopicSpec]) -> EnsureReport:
    """Create missing topics; verify existing ones. Raises TopicLayoutError on a mismatch."""
    metadata = admin.list_topics(timeout=ADMIN_TIMEOUT_S)
    existing = [spec for spec in specs if spec.name in metadata.topics]
    _verify(admin, existing)
    missing = [spec for spec in specs if spec.name not in metadata.topics]
    created = [s.name for s in missing]
    if missing:
        # A topic created a moment ago (by us or another process) may not be in the metadata
        # yet: the broker then answers "already exists", and that topic must be verified too.
        already = set(_create(admin, missing))
        if already:
            _verify(admin, [s for s in missing if s.name in already], wait_s=ADMIN_TIMEOUT_S)
            created = [name for name in created if name not in already]
            existing += [s for s in missing if s.name in already]
        _await_leaders(admin, [s for s in missing if s.name in created])
    return EnsureReport(created=created, existing=[s.name for s in existing])


def _await_leaders(admin: AdminClient, specs: Sequence[TopicSpec]) -> None:
    """Return once every partition of the new topics has a leader in the metadata.

    The broker answers a creation before its metadata shows the topic, so without this wait a
    caller that uses a topic at once (a producer, a describe) may be told it does not exist.
    """
    if not specs:
        return
    deadline = time.monotonic() + ADMIN_TIMEOUT_S
    while True:
        topics = admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics
        waiting = [
            s.name
            for s in specs
            if s.name not in topics
            or len(topics[s.name].partitions) != s.partitions
            or any(p.leader < 0 or p.error is not None for p in topics[s.name].partitions.values())
        ]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise TopicLayoutError(
                f"topics {waiting} were created but have no leader after {ADMIN_TIMEOUT_S:.0f} s"
            )
        time.sleep(METADATA_POLL_S)


def _verify(admin: AdminClient, specs: Sequence[TopicSpec], wait_s: float = 0.0) -> None:
    if not specs:
        return
    deadline = time.monotonic() + wait_s
    metadata = admin.list_topics(timeout=ADMIN_TIMEOUT_S)
    while any(s.name not in metadata.topics for s in specs) and time.monotonic() < deadline:
        time.sleep(METADATA_POLL_S)
        metadata = admin.list_topics(timeout=ADMIN_TIMEOUT_S)
    problems = []
    for spec in specs:
        topic = metadata.topics.get(spec.name)
        found = len(topic.partitions) if topic is not None else 0
        if found != spec.partitions:
            problems.append(
                f"topic {spec.name} has {found} partitions, the ledger needs {spec.partitions}; "
                "accounts would move to other partitions (use a new topic prefix or recreate it)"
            )
        elif topic is not None and spec.replication_factor is not None:
            replicas = min(len(p.replicas) for p in topic.partitions.values())
            if replicas < spec.replication_factor:
                problems.append(
                    f"topic {spec.name} has {replicas} replicas per partition, the settings ask "
                    f"{spec.replication_factor}; add replicas with kafka-reassign-partitions"
                )
    problems += _config_mismatches(admin, [s for s in specs if s.enforced])
    if problems:
        raise TopicLayoutError("; ".join(problems))


def _create(admin: AdminClient, specs: Sequence[TopicSpec]) -> list[str]:
    """Create topics; returns the names the broker said already existed."""
    futures = admin.create_topics(
        [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=s.replication_factor or -1,
                config=dict(s.config),
            )
            for s in specs
        ],
        operation_timeout=ADMIN_TIMEOUT_S,
        request_timeout=ADMIN_TIMEOUT_S,
    )
    already = []
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as error:
            if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
            already.append(name)
    return already


def _config_mismatches(admin: AdminClient, specs: Sequence[TopicSpec]) -> list[str]:
    if not specs:
        return []
    resources = [ConfigResource(ConfigResource.Type.TOPIC, s.name) for s in specs]
    results = admin.describe_configs(resources, request_timeout=ADMIN_TIMEOUT_S)
    by_name = {resource.name: future.result() for resource, future in results.items()}
    problems = []
    for spec in specs:
        entries = by_name[spec.name]
        for key in spec.enforced:
            found = entries[key].value if key in entries else None
            if found != spec.config[key]:
                problems.append(
                    f"topic {spec.name} has {key}={found}, the ledger needs {spec.config[key]}"
                )
    return problems


def delete_topics(admin: AdminClient, names: Sequence[str]) -> None:
    if not names:
        return
    for future in admin.delete_topics(list(names), operation_timeout=ADMIN_TIMEOUT_S).values():
        try:
            future.result()
        except KafkaException as error:
            if error.args[0].name() != "UNKNOWN_TOPIC_OR_PART":
                raise


def shared_partition_count(settings: Settings, names: Sequence[str]) -> int:
    """The partition count the broker has for `names`, co-partitioned topics that must agree
    (what `ensure_topics` made, whatever the settings say now). Raises TopicLayoutError when
    one is missing or they disagree."""
    admin = AdminClient(settings.kafka_config())
    topics = admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics
    counts = {}
    for name in names:
        if name not in topics or topics[name].error is not None:
            raise TopicLayoutError(f"topic {name} is missing: run `ledger topics ensure`")
        counts[name] = len(topics[name].partitions)
    if len(set(counts.values())) != 1:
        raise TopicLayoutError(f"topics disagree on partition counts: {counts}")
    return counts[names[0]]
