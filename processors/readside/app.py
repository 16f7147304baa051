"""The read side's Faust app: the Redis mirror agent, the self-heal check, the auditor.

One app, one consumer group (`mirror_app_id`), reading the journal read_committed through the
`ledger-kafka://` transport (processors/readside/transport.py). Faust's own offset commits
only say where to resume; correctness comes from the offsets the Lua script stores in Redis
atomically with the data (exactly-once by tracking).

Agents and timers:
- `mirror`: batches of up to `mirror_batch_max` events gathered for at most
  `mirror_batch_time_max_ms`, applied per partition by one Lua call (mirror.py);
- a timer every HEAL_CHECK_INTERVAL_S rebuilds the model when Redis has lost it;
- a timer every `audit_interval_s` audits a sample of accounts and stores the report in
  Redis (audit.py).
The worker is headless unless `mirror_web_port` is set.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

import faust
import redis
import redis.asyncio

from ledger.settings import Settings
from processors.readside import metrics
from processors.readside.audit import audit, store_report
from processors.readside.mirror import JournalEvent, RedisMirror
from processors.readside.transport import SCHEME, register_transport
from schemas.contracts import WireContracts

HEAL_CHECK_INTERVAL_S = 2.0
RESUBSCRIBE_DELAY_S = 0.5
log = logging.getLogger("ledger.mirror")


def mirror_app_id(settings: Settings) -> str:
    return settings.mirror_group_id or f"{settings.topic_prefix}mirror"


def create_app(settings: Settings, contracts: WireContracts) -> tuple[Any, RedisMirror]:
    """The Faust app with its agents and timers, and the mirror it drives."""
    register_transport()
    web_port = settings.mirror_web_port
    app = faust.App(
        mirror_app_id(settings),
        broker=f"{SCHEME}://{settings.kafka_bootstrap_servers}",
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_host="127.0.0.1",
        datadir=str(Path(tempfile.gettempdir()) / "ledger-faust"),
        # A new group reads the journal from its beginning; afterwards the offsets stored in
        # Redis decide (a gap is healed from the journal, not trusted to Faust's commits).
        consumer_auto_offset_reset="earliest",
        # The read side keeps no Faust tables, so it needs neither the leader topic nor
        # Faust's table-aware assignor.
        topic_disable_leader=True,
        topic_partitions=settings.partitions,
        stream_buffer_maxsize=max(settings.mirror_batch_max * 2, 4096),
        broker_commit_every=settings.mirror_batch_max,
        broker_commit_interval=1.0,
    )
    sync_client = redis.Redis.from_url(settings.redis_url)
    async_client = redis.asyncio.Redis.from_url(settings.redis_url)
    mirror = RedisMirror(settings, contracts, async_client, sync_client)
    journal = app.topic(
        settings.topics.events,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    # Faust subscribes once its agents have *started*; an agent whose stream registers its
    # topic a moment later waits for the next resubscription, which Faust delays by 45 s
    # (faust/transport/conductor.py, `_resubscribe_sleep_lock_seconds`, no setting). The
    # read side has one static topic, so a short coalescing delay costs nothing. (Adding
    # the topic to the conductor up front is wrong: it becomes a second, unread channel.)
    app.topics._resubscribe_sleep_lock_seconds = RESUBSCRIBE_DELAY_S  # type: ignore[attr-defined]
    batch_time_s = settings.mirror_batch_time_max_ms / 1000

    @app.agent(journal)
    async def mirror_journal(stream: Any) -> None:
        async for events in stream.take_events(settings.mirror_batch_max, within=batch_time_s):
            await mirror.mirror_records(
                JournalEvent(e.message.partition, e.message.offset, e.value) for e in events
            )

    @app.timer(HEAL_CHECK_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def heal_when_lost() -> None:
        await mirror.ensure_model()

    @app.timer(float(settings.audit_interval_s))  # type: ignore[untyped-decorator]
    async def audit_continuously() -> None:
        report = await asyncio.to_thread(audit, settings, sync_client, contracts, None)
        store_report(sync_client, settings, report)
        metrics.observe_audit(report.ok, len(report.problems))
        if not report.ok:
            log.error("audit found %d discrepancies: %s", len(report.problems), report.problems)

    return app, mirror
