"""The kit for journal extensions: a Faust app that reads the journal the way the ledger does.

An extension is a Faust agent over decoded journal events. What the kit settles for it:

- **read_committed**: the app's broker is the `ledger-kafka://` transport
  (processors/readside/transport.py), so an aborted core transaction's events never reach
  the agent (Faust's own worker consumer reads uncommitted);
- **typed events**: `journal_events(stream)` yields `(LedgerEvent, faust event)` pairs,
  decoded with the ledger's own contracts (ledger/model.py documents every field); a record
  that does not decode is logged with its position and counted, never skipped silently, and
  never stops the agent;
- **restart-safe positions**: Faust commits what the agent has processed; after a crash it
  delivers again from the last commit. Tables live in Faust changelog topics and come back
  on restart. Delivery is at least once, so a fold must be idempotent: every event carries
  its account's `sequence`, and events of one account arrive in sequence order (one
  partition), so "apply only when the sequence is newer than what the state has seen" makes
  any fold exactly once.

    app = journal_app(settings, "my-extension")

    @app.agent(journal_topic(app, settings))
    async def fold(stream):
        async for event, _ in journal_events(stream, contracts):
            ...

The app id is `<topic prefix>ext-<name>`: its consumer group, and the prefix of its tables'
changelog topics. `ledger extension run NAME` runs a shipped extension as a Faust worker.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import faust
from confluent_kafka.admin import AdminClient

from ledger.model import LedgerEvent
from processors.errors import ProcessorError
from processors.readside.decoding import decode_or_report
from processors.readside.transport import SCHEME, register_transport
from schemas.contracts import WireContracts
from settings import Settings

log = logging.getLogger("ledger.extensions")
SESSION_TIMEOUT_S = 10.0


class ExtensionError(ProcessorError):
    """An extension cannot run as configured; the message says why."""


RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def extension_app_id(settings: Settings, name: str) -> str:
    return f"{settings.topic_prefix}ext-{name}"


def journal_app(settings: Settings, name: str, **options: Any) -> Any:
    """A Faust app for one extension, reading the journal read_committed from its start."""
    if settings.kafka_client_config:
        # Faust's client (aiokafka) takes credentials of its own; until they are mapped from
        # KAFKA_CONFIG_*, refuse rather than reach a secured listener without them.
        raise ExtensionError(
            "journal extensions do not pass KAFKA_CONFIG_* (TLS, SASL) to Faust yet: run them "
            "against a listener without them"
        )
    register_transport()
    app_id = extension_app_id(settings, name)
    replication = {}
    if settings.topic_replication_factor is not None:
        replication["topic_replication_factor"] = settings.topic_replication_factor
    defaults: dict[str, Any] = {
        "broker": f"{SCHEME}://{settings.kafka_bootstrap_servers}",
        "web_enabled": False,
        "datadir": str(Path(tempfile.gettempdir()) / "ledger-faust" / app_id),
        # A new extension folds the whole journal, not just what comes after it starts.
        "consumer_auto_offset_reset": "earliest",
        # Tables are co-partitioned with the journal: an account's events and its table
        # entries live in the same partition number (the topic's count, whatever the
        # settings say).
        "topic_partitions": journal_partitions(settings),
        "store": "memory://",
        # A restarted worker takes its partitions back without waiting out a minute.
        "broker_session_timeout": SESSION_TIMEOUT_S,
        **replication,
    }
    return faust.App(app_id, **{**defaults, **options})


def journal_partitions(settings: Settings) -> int:
    topic = settings.topics.events
    metadata = AdminClient(settings.kafka_config()).list_topics(topic, timeout=30)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        raise ExtensionError(f"journal topic {topic} not found: run `ledger topics ensure`")
    return len(found.partitions)


def journal_topic(app: Any, settings: Settings) -> Any:
    return app.topic(settings.topics.events, **RAW)


async def journal_events(
    stream: Any, contracts: WireContracts
) -> AsyncIterator[tuple[LedgerEvent, Any]]:
    """Decoded journal events of an agent's stream, with Faust's event (its message's
    partition, offset and timestamp)."""
    async for value in stream:
        current = stream.current_event
        message = current.message
        event = decode_or_report(contracts, value, message.partition, message.offset)
        if event is not None:
            yield event, current
