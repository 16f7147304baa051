"""The gateway's reads remember the live generation to save a round trip; a swap (a replay
putting a new model live) must still never let a read answer from the old one."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio

from readmodel.keys import GenerationKeys, live_pointer
from readmodel.reader import ReadModel
from settings import Settings


def test_a_read_after_a_swap_answers_from_the_new_generation(
    settings: Settings, redis_client: redis.Redis
) -> None:
    prefix = settings.redis_key_prefix
    for generation, available in (("g-old", 10), ("g-new", 25)):
        account = GenerationKeys(prefix, generation).account("acme", "ann")
        redis_client.hset(account, mapping={"points.available": available, "points.held": 0})

    async def read() -> list[int]:
        client = redis.asyncio.Redis.from_url(settings.redis_url)
        model = ReadModel(client, prefix)
        seen = []
        try:
            redis_client.set(live_pointer(prefix), "g-old")
            seen.append((await model.balances("acme", "ann"))[0].available)
            redis_client.set(live_pointer(prefix), "g-new")  # a replay swaps its model in
            seen.append((await model.balances("acme", "ann"))[0].available)
            redis_client.delete(live_pointer(prefix))  # Redis lost the model
            seen.append(len(await model.balances("acme", "ann")))
        finally:
            await client.aclose()
        return seen

    assert asyncio.run(read()) == [10, 25, 0]
