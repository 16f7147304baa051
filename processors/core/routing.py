"""The channel each input topic grants its records: the topic is the authority.

Which partition owns an account (the key and murmur2) is the Kafka contract's, in
schemas/partitioning.py.
"""

from __future__ import annotations

from ledger.model import Channel
from settings import TopicNames


def channels(topics: TopicNames) -> dict[str, Channel]:
    """The channel each input topic grants its records: the topic is the authority (its ACLs
    say who may write it), never a field of the record."""
    return {
        topics.requests: Channel.PUBLIC,
        topics.operator_requests: Channel.OPERATOR,
        topics.internal_requests: Channel.SYSTEM,
    }
