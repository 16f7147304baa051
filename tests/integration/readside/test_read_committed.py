"""The Faust mirror reads the journal read_committed: aborted transactions never reach Redis,
and mirroring the same events again changes nothing."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import redis
from confluent_kafka import Consumer, TopicPartition

from bench.kit.kafka_io import read_topic
from processors.readside.journal import journal_partitions, read_journal
from readmodel.keys import outcome_channel, parse_outcome
from readmodel.reader import SyncReadModel
from settings import Settings
from tests.integration.readside.conftest import (
    snapshot,
    wait_for,
    wait_for_generation,
    wait_for_offsets,
    wait_for_sequence,
)
from tests.integration.readside.journal_writer import PROGRAM, JournalWriter, request
from tests.support.processes import LedgerProcess


class OutcomeListener:
    """Collects every message of the outcome channel in a thread."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.messages: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message is not None:
                self.messages.append(message["data"])

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.pubsub.close()


def test_aborted_transactions_never_reach_redis(
    topics: Settings,
    writer: JournalWriter,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
) -> None:
    # The mirror starts on an empty journal and creates its generation; everything below
    # then arrives through the Faust consumer, live (the generation never changes).
    generation = wait_for_generation(read_model)
    listener = OutcomeListener(redis_client, outcome_channel(topics.redis_key_prefix))
    try:
        committed_first = writer.apply([request("alice", "ACCRUE", 100)])
        # Aborted: alice's sequence 2 (which the committed REDEEM below also gets) and a
        # brand-new account.
        aborted = writer.apply(
            [request("alice", "ACCRUE", 1_000_000), request("bob", "ACCRUE", 777)], commit=False
        )
        committed_last = writer.apply([request("alice", "REDEEM", 30)])
        balances = wait_for_sequence(read_model, "alice", 2)
        wait_for_offsets(read_model, topics)
        wait_for(lambda: len(listener.messages) >= 2, "two outcomes")
    finally:
        listener.close()

    # The aborted records are really in the log: a read_uncommitted reader sees them.
    uncommitted = read_topic(
        topics, topics.topics.events, 4, timeout_s=20, isolation="read_uncommitted"
    )
    assert len(uncommitted) == 4
    assert len(read_topic(topics, topics.topics.events, 2, timeout_s=20)) == 2

    assert [(b.asset, b.available, b.held, b.sequence) for b in balances] == [("points", 70, 0, 2)]
    assert read_model.balances(PROGRAM, "bob") == []
    assert read_model.accounts(PROGRAM) == ["alice"]
    for event in aborted:
        assert (
            read_model.request_status(PROGRAM, event.account_id, event.request.request_id) is None
        )
    history = read_model.history(PROGRAM, "alice", 10)
    assert [h.request_id for h in history] == [
        committed_last[0].request.request_id,
        committed_first[0].request.request_id,
    ]
    totals = read_model.totals(PROGRAM)["points"]
    assert (totals.issued, totals.redeemed, totals.outstanding) == (100, 30, 70)
    outcomes = [parse_outcome(m) for m in listener.messages]
    assert [o.request_id for o in outcomes] == [
        committed_first[0].request.request_id,
        committed_last[0].request.request_id,
    ]
    assert outcomes[-1].balances[0].available == 70
    assert read_model.generation() == generation, "events must have come through Faust"
    assert "rebuilt generation" in mirror.log()  # the first, empty one only
    assert mirror.log().count("rebuilding it from the journal") == 1


def test_mirroring_the_same_events_twice_changes_nothing(
    topics: Settings,
    writer: JournalWriter,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
) -> None:
    wait_for_generation(read_model)
    for round_ in range(3):
        writer.apply(
            [request(f"acct{n}", "ACCRUE", 10 + n + round_) for n in range(20)]
            + [request("acct0", "REDEEM", 5), request("acct1", "REDEEM", 10**9)]
        )
    wait_for_sequence(read_model, "acct0", 6)
    wait_for_offsets(read_model, topics)
    before = snapshot(redis_client, topics.redis_key_prefix)
    assert before

    # A second mirror in a new consumer group reads the whole journal again, from offset 0,
    # into the same generation: every event is delivered a second time.
    again = replace(topics, mirror_group_id=f"{topics.topic_prefix}mirror-again")
    second = LedgerProcess(
        ["mirror"],
        {**mirror.env, "LEDGER_MIRROR_GROUP_ID": str(again.mirror_group_id)},
        mirror.log_path.with_name("mirror-again.log"),
    )
    second.start()
    try:
        wait_for(lambda: _group_consumed(again), "the second mirror to consume everything", 60)
    finally:
        assert second.stop() == 0
    after = snapshot(redis_client, topics.redis_key_prefix)
    assert after == before
    assert json.dumps(sorted(after)) == json.dumps(sorted(before))


def _group_consumed(settings: Settings) -> bool:
    """The group has committed past the last committed event of every journal partition."""
    last: dict[int, int] = {}
    starts = dict.fromkeys(journal_partitions(settings), -2)
    for batch in read_journal(settings, starts, timeout_s=30):
        if batch.records:
            last[batch.partition] = batch.records[-1].offset
    consumer = Consumer(settings.kafka_config({"group.id": str(settings.mirror_group_id)}))
    try:
        committed = consumer.committed(
            [TopicPartition(settings.topics.events, p) for p in last], timeout=10
        )
    finally:
        consumer.close()
    return all(tp.offset > last[tp.partition] for tp in committed)
