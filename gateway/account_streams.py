"""Live events of accounts for SSE streams: one Redis subscription per gateway process.

The mirror publishes each history entry on its account's channel (readmodel/keys.py,
`account_events_channel`) in the Lua call that stores it. A process subscribes to the channel
of an account while at least one of its streams follows that account, all on ONE pub/sub
connection, so a thousand open streams cost one Redis connection, not a thousand.

A stream that falls behind (its queue full) or whose subscription breaks (Redis restarts) is
ended, never silently thinned: its client reconnects with Last-Event-ID and gets what it
missed from the history (gateway/event_positions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import redis.asyncio
from redis.exceptions import RedisError

QUEUE_MAX = 1_000
RESUBSCRIBE_PAUSE_S = 0.5
log = logging.getLogger(__name__)

# A message, or None: the stream must end (it fell behind or the subscription broke).
Feed = asyncio.Queue[bytes | None]


class AccountStreams:
    def __init__(self, client: redis.asyncio.Redis, prefix: str) -> None:
        self.redis = client
        # Keeps the connection subscribed (and readable) while no account is followed.
        self._idle_channel = f"{prefix}events:_gateway:{uuid.uuid4().hex}"
        self._feeds: dict[str, set[Feed]] = {}
        self._pubsub: redis.asyncio.client.PubSub | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="account-streams")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def follow(self, channel: str) -> AsyncIterator[Feed]:
        """Messages of `channel` from now on, until the block ends. Subscribing is not
        confirmed here: a caller that must know when it is active publishes a marker and waits
        for it (gateway/routes/events.py)."""
        await asyncio.wait_for(self._ready.wait(), 10)
        feed: Feed = asyncio.Queue(QUEUE_MAX)
        feeds = self._feeds.setdefault(channel, set())
        try:
            feeds.add(feed)
            if len(feeds) == 1 and self._pubsub is not None:
                await self._pubsub.subscribe(channel)
            yield feed
        finally:
            feeds.discard(feed)
            if not feeds and self._feeds.get(channel) is feeds:
                del self._feeds[channel]
                if self._pubsub is not None:
                    with contextlib.suppress(RedisError, ConnectionError):
                        await self._pubsub.unsubscribe(channel)

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._idle_channel, *self._feeds)
                self._pubsub = pubsub
                self._ready.set()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._deliver(message["channel"], message["data"])
            except (RedisError, ConnectionError, OSError) as error:
                log.warning("account event subscription lost: %s; streams end", error)
            finally:
                self._ready.clear()
                self._pubsub = None
                self._end_all()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_PAUSE_S)

    def _deliver(self, channel: bytes | str, data: bytes) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        for feed in list(self._feeds.get(name, ())):
            try:
                feed.put_nowait(data)
            except asyncio.QueueFull:  # it fell behind: end it whole, the client resumes
                self._feeds[name].discard(feed)
                self._end(feed)

    def _end_all(self) -> None:
        for feeds in self._feeds.values():
            for feed in feeds:
                self._end(feed)

    @staticmethod
    def _end(feed: Feed) -> None:
        """Nothing more for this feed but its end: what it held unread is dropped with it, so
        the stream stops at the last event it really sent and its client resumes from there."""
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                feed.get_nowait()
        feed.put_nowait(None)
