"""MirrorMaker 2 copies each region's journal to the other region exactly once.

Each region's writer commits and aborts transactions on its own journal while MirrorMaker 2
replicates both ways; MirrorMaker is SIGKILLed mid-run and started again by `ledger services
up --regions`. Each copy, read read_committed, must hold exactly the source's committed records
in the source's order, partition by partition: none missing, none twice (what an
at-least-once mirror writes again after a crash), none aborted.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import replace

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.kit.kafka_io import read_topic
from cli.devstack.regions import RegionsStack
from processors.topics import ensure_topics, ledger_topics
from settings import Settings
from tests.integration.regions.traffic import kill_and_restart_mirrormaker

# Once both copies are being written: kill MirrorMaker, start it again, and go on writing.
DOWN_S = 2.0
AFTER_RESTART_S = 4.0
ABORT_EVERY = 4
COPY_TIMEOUT_S = 120.0
COPYING_RECORDS = 200

Records = dict[int, list[tuple[bytes, bytes]]]


def _write(settings: Settings, stop: threading.Event, committed: Records) -> None:
    """Transactions of 1-20 records on the region's journal until `stop`; every fourth
    aborted. `committed` gets what was committed, per partition, in order. A transaction the
    broker refuses to end (this 2-core machine under load can time one out) was not
    committed: a new producer with the same transactional.id aborts it, and writing goes on."""
    producer = _transactional(settings)
    partitions = settings.partitions
    transaction = 0
    while not stop.is_set():
        records = [
            (
                (transaction * 7 + i) % partitions,
                f"{settings.region}:{transaction}".encode(),
                f"{settings.region}-{transaction}-{i}".encode(),
            )
            for i in range(1 + transaction % 20)
        ]
        try:
            producer.begin_transaction()
            for partition, key, value in records:
                producer.produce(settings.topics.events, value, key, partition=partition)
            if transaction % ABORT_EVERY == ABORT_EVERY - 1:
                producer.abort_transaction(30)
            else:
                producer.commit_transaction(30)
                for partition, key, value in records:
                    committed[partition].append((key, value))
        except KafkaException as error:
            if error.args[0].txn_requires_abort():
                producer.abort_transaction(30)
            elif error.args[0].fatal():
                producer = _transactional(settings)
            else:
                raise
        transaction += 1
        time.sleep(0.005)


def _transactional(settings: Settings) -> Producer:
    producer = Producer(
        settings.kafka_config(
            {"transactional.id": f"regions-test-{settings.region}", "linger.ms": 1}
        )
    )
    producer.init_transactions(30)
    return producer


def _difference(copy: str, target: str, expected: Records, found: Records) -> str:
    wanted = {record for records in expected.values() for record in records}
    got = [record for records in found.values() for record in records]
    return (
        f"{copy} in {target}: {len(got)} records for {len(wanted)} committed; "
        f"{len(got) - len(set(got))} copied twice, {len(wanted - set(got))} missing, "
        f"{len(set(got) - wanted)} never committed (aborted), or out of order"
    )


def _wait_until_copying(settings: Settings, copy: str) -> None:
    """Until MirrorMaker has copied records into `copy` (so a kill interrupts real work)."""
    assert _copy_exists(settings, copy), f"{copy} never appeared in {settings.region}"
    consumer = Consumer(settings.kafka_config({"group.id": "regions-test-watermarks"}))
    try:
        deadline = time.monotonic() + COPY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                copied = sum(
                    consumer.get_watermark_offsets(TopicPartition(copy, p), timeout=10)[1]
                    for p in range(settings.partitions)
                )
            except KafkaException:  # a copy just created has no leader for a moment
                copied = 0
            if copied >= COPYING_RECORDS:
                return
            time.sleep(0.2)
    finally:
        consumer.close()
    raise AssertionError(f"MirrorMaker copied nothing into {copy} in {COPY_TIMEOUT_S} s")


def _copy_exists(settings: Settings, topic: str) -> bool:
    deadline = time.monotonic() + COPY_TIMEOUT_S
    while time.monotonic() < deadline:
        if topic in AdminClient(settings.kafka_config()).list_topics(timeout=10).topics:
            return True
        time.sleep(0.5)
    return False


def test_each_journal_reaches_the_other_region_exactly_once_across_a_mirrormaker_kill(
    regions: RegionsStack,
) -> None:
    # Topics of this test's own: raw records, which no ledger reader should meet.
    settings = {
        name: replace(regions.settings_for(name), topic_prefix="mirrortest.")
        for name in regions.names
    }
    for region_settings in settings.values():
        ensure_topics(AdminClient(region_settings.kafka_config()), ledger_topics(region_settings))
    committed: dict[str, Records] = {name: defaultdict(list) for name in regions.names}
    stop = threading.Event()
    writers = [
        threading.Thread(target=_write, args=(settings[name], stop, committed[name]), daemon=True)
        for name in regions.names
    ]
    for writer in writers:
        writer.start()
    for source in regions.names:
        for target in regions.names:
            if target != source:
                _wait_until_copying(settings[target], f"{source}.{settings[source].topics.events}")
    kill_and_restart_mirrormaker(regions, DOWN_S)
    time.sleep(AFTER_RESTART_S)
    stop.set()
    for writer in writers:
        writer.join(60)
    for source in regions.names:
        expected = committed[source]
        total = sum(len(records) for records in expected.values())
        assert total > 500, f"{source} committed only {total} records"
        for target in regions.names:
            if target == source:
                continue
            copy = f"{source}.{settings[source].topics.events}"
            assert _copy_exists(settings[target], copy), f"{copy} never appeared in {target}"
            found: Records = defaultdict(list)
            for message in read_topic(settings[target], copy, total, COPY_TIMEOUT_S):
                found[message.partition() or 0].append(
                    (message.key() or b"", message.value() or b"")
                )
            assert found == expected, _difference(copy, target, expected, found)
