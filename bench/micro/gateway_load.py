"""Load figure of the HTTP gateway (a benchmark, not a test): writes with wait-for-outcome and
balance reads against a running ledger (`make run`, or core + mirror + gateway).

    .venv/bin/python -m bench.micro.gateway_load --url http://127.0.0.1:8080 \
        --writes 5000 --reads 20000 --concurrency 64

Creates its own API key (admin on the program, no effective rate limit) unless --token is
given. Every request is bounded: counts are fixed, each call has a timeout, and the run stops
by itself. Prints writes/s (each waited for its outcome), write latency p50/p99, outcome
statuses, and balance reads/s with p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
import redis

from gateway.auth import KeyAdmin, Scope
from settings import Settings

REQUEST_TIMEOUT_S = 30.0
ACCOUNTS = 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def drive(
    count: int, concurrency: int, call: Callable[[int], Awaitable[str]]
) -> tuple[float, list[float], Counter[str]]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            started = time.perf_counter()
            outcomes[await call(index)] += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, outcomes


def report(name: str, elapsed: float, latencies: list[float], outcomes: Counter[str]) -> None:
    print(
        f"{name}: {len(latencies)} in {elapsed:.1f} s = {len(latencies) / elapsed:,.0f}/s, "
        f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, answers {dict(outcomes)}"
    )


async def run(args: argparse.Namespace, token: str) -> None:
    run_id = uuid.uuid4().hex[:8]
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=args.url, headers=headers, timeout=REQUEST_TIMEOUT_S, limits=limits
    ) as client:
        base = f"/v1/programs/{args.program}"

        async def write(index: int) -> str:
            body = {
                "operation": "ACCRUE",
                "account_id": f"bench-{run_id}-{index % ACCOUNTS}",
                "asset": args.asset,
                "amount": 1,
            }
            answer = await client.post(
                f"{base}/transactions",
                json=body,
                headers={"Idempotency-Key": f"bench-{run_id}-{index}"},
            )
            return str(answer.status_code)

        async def read(index: int) -> str:
            answer = await client.get(f"{base}/accounts/bench-{run_id}-{index % ACCOUNTS}/balances")
            return str(answer.status_code)

        await drive(min(200, args.writes), args.concurrency, write)  # warm-up
        report("writes (wait for outcome)", *await drive(args.writes, args.concurrency, write))
        report("balance reads", *await drive(args.reads, args.concurrency, read))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", help="API key (default: create one in Redis)")
    parser.add_argument("--program", default="acme")
    parser.add_argument("--asset", default="points")
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    token = args.token
    if token is None:
        settings = Settings.from_env(os.environ)
        admin = KeyAdmin(redis.Redis.from_url(settings.redis_url), settings.redis_key_prefix)
        _, token = admin.create([args.program], [Scope.ADMIN], "benchmark", 10**9, 10**9)
    asyncio.run(run(args, token))


if __name__ == "__main__":
    main()
