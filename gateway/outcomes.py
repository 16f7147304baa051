"""Waiting for a request's outcome: one Redis pub/sub subscription per gateway process.

Each process has its own reply channel, `P + "outcomes:{reply_to}"` (readmodel/keys.py); the
requests it produces name it in a header, the core copies it onto the event, and the mirror
publishes the outcome there (in the same Lua call that stores the request's status, so a status
readable in Redis was already published). So a process reads only its own outcomes: N gateway
processes are N times the capacity, not N times the same work.
A write registers its interest (`expect`) BEFORE producing, so the message cannot slip by
between producing and listening. Waiters are keyed by (program, account, request_id) and
several may wait for the same request (concurrent retries).

If the subscription drops (Redis restarts), it is re-established with a pause; a waiter that
missed its message simply times out and the caller looks at the stored status once more.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import redis.asyncio
from redis.exceptions import RedisError

from readmodel.keys import MalformedOutcome, Outcome, parse_outcome

RESUBSCRIBE_PAUSE_S = 0.5
log = logging.getLogger("ledger.gateway.outcomes")

WaitKey = tuple[str, str, str]


class OutcomeWaiter:
    def __init__(self, client: redis.asyncio.Redis, channel: str) -> None:
        self.redis = client
        self.channel = channel
        """This process's reply channel (readmodel.keys.reply_channel)."""
        self._waiters: dict[WaitKey, set[asyncio.Future[Outcome]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._subscribed.is_set()

    async def start(self, timeout_s: float = 10.0) -> None:
        self._task = asyncio.create_task(self._listen(), name="outcome-listener")
        with suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    def expect(self, key: WaitKey) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(key, set()).add(future)
        return future

    def forget(self, key: WaitKey, future: asyncio.Future[Outcome]) -> None:
        waiting = self._waiters.get(key)
        if waiting is not None:
            waiting.discard(future)
            if not waiting:
                del self._waiters[key]

    def deliver(self, outcome: Outcome) -> None:
        key = (outcome.program, outcome.account_id, outcome.request_id)
        for future in self._waiters.pop(key, ()):
            if not future.done():
                future.set_result(outcome)

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._on_message(message["data"])
            except (RedisError, OSError) as error:
                log.warning("outcome subscription lost (%s); subscribing again", error)
            finally:
                self._subscribed.clear()
                with suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_PAUSE_S)

    def _on_message(self, data: bytes | str) -> None:
        if not self._waiters:
            return
        try:
            outcome = parse_outcome(data)
        except MalformedOutcome:
            log.warning("ignoring a malformed outcome message")
            return
        self.deliver(outcome)
