"""Which changelog offsets a committed batch reaches, for the disk store's checkpoint.

Only the last record a batch writes to each changelog partition asks for its delivery report:
records of one partition are written in order, so its offset + 1 is where a restart resumes.
The reports are served while `commit_transaction` flushes the producer. A partition whose
report did not come keeps its older checkpoint, which is still correct: a restore from it
reads a little more and applies the same states again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, Message

from processors.core.batch import OutputRecord

DeliveryCallback = Callable[[KafkaError | None, Message], None]


class Checkpoints:
    def __init__(self, changelog_topics: Sequence[str], records: Sequence[OutputRecord]) -> None:
        wanted = set(changelog_topics)
        last: dict[tuple[str, int], int] = {}
        for index, record in enumerate(records):
            if record.topic in wanted:
                last[(record.topic, record.partition)] = index
        self._watched = {index: where for where, index in last.items()}
        self._reached: dict[int, dict[str, int]] = {}

    def watch(self, index: int) -> DeliveryCallback | None:
        """The delivery callback for the batch's `index`-th record, None when not needed."""
        return self._delivered if index in self._watched else None

    def of(self, partition: int) -> dict[str, int]:
        """changelog topic -> next offset after this batch's records, for one partition."""
        return self._reached.get(partition, {})

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        offset, partition, topic = message.offset(), message.partition(), message.topic()
        if error is not None or offset is None or offset < 0 or partition is None or not topic:
            return
        self._reached.setdefault(partition, {})[topic] = offset + 1
