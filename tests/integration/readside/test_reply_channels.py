"""Outcomes go only to the gateway process that waits for them, and the mirror counts every
outcome it publishes for the dashboard, whichever channel it went to.

A journal event carrying a valid reply channel (the REPLY_TO_HEADER the core copies from the
gateway's request) is published on that channel only; one without, or with a name anyone
could have forged into a key pattern, goes to the shared channel. Nothing is published twice.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import cast

import redis

from readmodel.keys import (
    ACTIVITY_TTL_S,
    FRESHNESS_BOUNDS_MS,
    activity_fields,
    activity_key,
    outcome_channel,
    parse_outcome,
    reply_channel,
)
from readmodel.reader import SyncReadModel
from schemas.contracts import REPLY_TO_HEADER
from settings import Settings
from tests.integration.readside.conftest import wait_for, wait_for_generation
from tests.integration.readside.journal_writer import PROGRAM, JournalWriter, request
from tests.integration.readside.test_read_committed import OutcomeListener
from tests.support.processes import LedgerProcess


def test_each_outcome_reaches_only_its_reply_channel_and_is_counted(
    topics: Settings,
    writer: JournalWriter,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
) -> None:
    wait_for_generation(read_model)
    prefix = topics.redis_key_prefix
    shared = OutcomeListener(redis_client, outcome_channel(prefix))
    first = OutcomeListener(redis_client, reply_channel(prefix, "gw-1"))
    second = OutcomeListener(redis_client, reply_channel(prefix, "gw-2"))
    listeners = (shared, first, second)
    try:
        to_first = writer.apply(
            [request("ann", "ACCRUE", 10), request("ann", "REDEEM", 99)],
            headers=[(REPLY_TO_HEADER, b"gw-1")],
        )
        to_second = writer.apply(
            [request("bob", "ACCRUE", 5)], headers=[(REPLY_TO_HEADER, b"gw-2")]
        )
        unnamed = writer.apply([request("cat", "ACCRUE", 7)])
        forged = writer.apply(
            [request("dan", "ACCRUE", 3)], headers=[(REPLY_TO_HEADER, b"gw-1*:or:anything")]
        )
        wait_for(lambda: sum(len(listener.messages) for listener in listeners) >= 5, "5 outcomes")
        time.sleep(0.5)  # anything published twice would arrive by now
    finally:
        for listener in listeners:
            listener.close()

    def ids(listener: OutcomeListener) -> list[str]:
        return [parse_outcome(message).request_id for message in listener.messages]

    assert ids(first) == [event.request.request_id for event in to_first]
    assert ids(second) == [event.request.request_id for event in to_second]
    assert sorted(ids(shared)) == sorted(e.request.request_id for e in unnamed + forged)

    events = to_first + to_second + unnamed + forged
    counted: Counter[str] = Counter()
    for second_s in {event.processed_at_ms // 1000 for event in events}:
        stored = cast(dict[bytes, bytes], redis_client.hgetall(activity_key(prefix, second_s)))
        counted.update({name.decode(): int(count) for name, count in stored.items()})
    expected: Counter[str] = Counter()
    for event in events:
        reason = event.reason.value if event.reason else None
        expected.update(
            activity_fields(PROGRAM, event.request.operation.value, event.status.value, reason)
        )
    # Each outcome also lands in one freshness bucket (its age when the script ran).
    fresh = {name: n for name, n in counted.items() if name.startswith(f"{PROGRAM}|fresh|")}
    assert sum(fresh.values()) == len(events), counted
    assert {name for name in fresh} <= {
        f"{PROGRAM}|fresh|{bound}" for bound in (*FRESHNESS_BOUNDS_MS, "inf")
    }
    assert counted - Counter(fresh) == expected
    assert expected[f"{PROGRAM}|REJECTED"] == 1  # the REDEEM of 99 out of 10
    ttl = redis_client.ttl(activity_key(prefix, events[0].processed_at_ms // 1000))
    assert 0 < ttl <= ACTIVITY_TTL_S
