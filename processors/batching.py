"""Taking a batch from a consumer: wait for the first record, then gather for a bounded time.

librdkafka's `consume(n, timeout)` returns only when n records came or the timeout passed:
a record that arrives 10 ms into a 300 ms call is returned after 300 ms. Used as a batch
window, that call made a record wait the whole window whenever it was the first of a batch,
and an idle consumer starts every batch with its first record. `take_batch` starts the
window at the first record instead: an idle consumer waits without a bound on how soon it
answers, and a batch gathers for `gather_s` from its first record (or until `records_max`).
Under a backlog every batch is full at once, so the window only matters at moderate rates,
where it trades a few milliseconds of latency for fewer, larger transactions or Redis calls.
"""

from __future__ import annotations

from confluent_kafka import Consumer, Message

# How long an idle consumer blocks before its caller gets a turn (timers, lag, model checks).
IDLE_WAIT_S = 0.1


def take_batch(
    consumer: Consumer, records_max: int, gather_s: float, idle_wait_s: float = IDLE_WAIT_S
) -> list[Message]:
    """Up to `records_max` records: what is fetched already, else the first that comes within
    `idle_wait_s`, then whatever comes within `gather_s` of it. Rebalance callbacks run inside
    these calls, as they did inside one `consume`."""
    batch: list[Message] = consumer.consume(records_max, timeout=0)
    if not batch:
        first = consumer.poll(idle_wait_s)
        if first is None:
            return []
        batch = [first]
    if len(batch) < records_max:
        batch.extend(consumer.consume(records_max - len(batch), timeout=gather_s))
    return batch
