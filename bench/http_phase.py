"""HTTP figures of the gateway, driven by wrk (a load generator that is not Python, so the
client does not eat the CPU it measures): the last phase of `ledger bench --http-seconds N`.

    ledger bench --http-seconds 10 --gateway-workers 2       # with the rest of a run
    .venv/bin/python -m bench.http_phase [--workers 1] [--seconds 10]       # alone

Starts its own core, mirror and gateway (`workers` uvicorn workers) on fresh topics and a
fresh Redis prefix of the local stack, creates an API key without an effective rate limit,
then runs wrk three times:

1. `GET /healthz` (16 connections): the gateway's own ceiling, no auth and no Redis;
2. `GET .../balances` of random accounts (16 connections): auth and the read model;
3. `POST .../transactions` waiting for the outcome (256 connections), every request with its
   own Idempotency-Key (a wrk Lua script), over 1 000 accounts.

For each it prints requests/s, latency p50/p99 (wrk's), the answers by status, and the
gateway's CPU per request (every worker's utime + stime from /proc, over what wrk completed).
Needs the local stack (`ledger services up`) and wrk (`make system-deps`). Prints figures;
asserts none.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import redis
from confluent_kafka.admin import AdminClient

from bench.processes import CLOCK_TICKS_PER_S, Child, child_env, ledger_child
from gateway.auth import KeyAdmin, Scope
from processors.topics import delete_topics, ensure_topics, ledger_topics
from settings import Settings

PROGRAM = "acme"
ACCOUNTS = 1_000
READ_CONNECTIONS = 16
WRITE_CONNECTIONS = 256
START_TIMEOUT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]

# Lua for wrk. Each wrk thread has its own Lua state: `setup` numbers them, so keys are unique
# across threads; `done` adds up every thread's answers by status.
SCRIPT = """
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
  statuses = {}
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("answers %d %d\\n", status, count))
  end
  io.write(string.format("latency_us %d %d\\n", latency:percentile(50), latency:percentile(99)))
end
"""

WRITE = """
function request()
  counter = counter + 1
  local account = "bench-%(run)s-" .. (counter %% %(accounts)d)
  local body = '{"operation":"ACCRUE","account_id":"' .. account
    .. '","asset":"points","amount":1}'
  return wrk.format("POST", "/v1/programs/%(program)s/transactions", {
    ["Authorization"] = "Bearer %(token)s",
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "%(run)s-" .. id .. "-" .. counter,
  }, body)
end
"""

READ = """
function request()
  counter = counter + 1
  local account = "bench-%(run)s-" .. math.random(0, %(accounts)d - 1)
  return wrk.format("GET", "/v1/programs/%(program)s/accounts/" .. account .. "/balances",
    {["Authorization"] = "Bearer %(token)s"})
end
"""


@dataclass
class WrkRun:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    answers: dict[int, int]
    gateway_cpu_s: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "answers": self.answers,
            "gateway_cpu_s": round(self.gateway_cpu_s, 3),
        }

    def line(self) -> str:
        cpu_us = self.gateway_cpu_s * 1e6 / max(self.requests, 1)
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(self.answers.items()))
        return (
            f"{self.name:34} {self.rate:9,.0f}/s  p50 {self.p50_ms:7.1f} ms  "
            f"p99 {self.p99_ms:7.1f} ms  gateway {cpu_us:6.0f} µs CPU/request  ({answers})"
        )


def tree_cpu_s(pid: int) -> float:
    """utime + stime of `pid` and its children (uvicorn's workers), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = text[text.rindex(")") + 2 :].split()
        this, parent = int(stat.parent.name), int(fields[1])
        if pid in (this, parent):
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS_PER_S


def wrk(
    name: str, url: str, script: str | None, connections: int, seconds: float, gateway: Child
) -> WrkRun:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(SCRIPT + (script or ""))
        lua.flush()
        command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "30s"]
        command += ["-s", lua.name, url]
        cpu_before = tree_cpu_s(gateway.pid)
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        cpu = tree_cpu_s(gateway.pid) - cpu_before
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    latency = re.search(r"latency_us (\d+) (\d+)", output)
    if done is None or latency is None:
        raise HttpPhaseFailed(f"wrk said:\n{output}")
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    answers = {int(s): int(n) for s, n in re.findall(r"answers (\d+) (\d+)", output)}
    return WrkRun(
        name,
        int(done.group(1)),
        elapsed,
        int(latency.group(1)) / 1000,
        int(latency.group(2)) / 1000,
        answers,
        cpu,
    )


def wait_until_serving(url: str, gateway: Child) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not gateway.alive():
            raise HttpPhaseFailed(f"the gateway exited:\n{gateway.log_tail()}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise HttpPhaseFailed(f"the gateway was not ready in {START_TIMEOUT_S:.0f} s")


class HttpPhaseFailed(Exception):
    """wrk is missing, or the gateway did not serve."""


def run_http(
    base: Settings, workers: int, seconds: float, port: int, stream: TextIO
) -> dict[str, Any]:
    """The three wrk runs as a result entry: requests/s, latency, answers and the gateway's
    CPU per request for each, and reads as a share of /healthz.

    Long on purpose: the phase's steps in order, inside the one try/finally that stops its
    processes and removes its data.
    """
    if shutil.which("wrk") is None:
        raise HttpPhaseFailed("wrk is not installed: `make system-deps` installs it")
    run = uuid.uuid4().hex[:8]
    settings = replace(
        base,
        topic_prefix=f"gwbench{run}.",
        redis_key_prefix=f"gwbench{run}:",
        core_group_id=f"gwbench{run}-core",
        mirror_group_id=f"gwbench{run}-mirror",
    )
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    client = redis.Redis.from_url(settings.redis_url)
    _, token = KeyAdmin(client, settings.redis_key_prefix).create(
        [PROGRAM], [Scope.ADMIN], "benchmark", 10**9, 10**9
    )
    env = child_env(settings, LEDGER_GATEWAY_WORKERS=str(workers))
    logs = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    children = [
        ledger_child("core", ["core", "--status-interval", "0"], env, logs),
        ledger_child("mirror", ["mirror", "--loglevel", "warning"], env, logs),
        ledger_child("gateway", ["gateway", "--port", str(port)], env, logs),
    ]
    url = f"http://127.0.0.1:{port}"
    print(f"http: gateway with {workers} worker(s) at {url}, logs in {logs}", file=stream)
    try:
        for child in children:
            child.start(ROOT)
        gateway = children[2]
        wait_until_serving(url, gateway)
        fill = {"run": run, "accounts": ACCOUNTS, "program": PROGRAM, "token": token}
        # A short write run first: accounts exist, the groups have settled, caches are warm.
        wrk("warm-up", url, WRITE % fill, WRITE_CONNECTIONS, min(5.0, seconds), gateway)
        healthz = wrk("GET /healthz", f"{url}/healthz", None, READ_CONNECTIONS, seconds, gateway)
        reads = wrk("GET balances", url, READ % fill, READ_CONNECTIONS, seconds, gateway)
        writes = wrk(
            "POST (wait for outcome)", url, WRITE % fill, WRITE_CONNECTIONS, seconds, gateway
        )
    finally:
        for child in reversed(children):
            child.stop()
        keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=10_000))
        for i in range(0, len(keys), 10_000):
            client.unlink(*keys[i : i + 10_000])
        delete_topics(admin, [topic.name for topic in ledger_topics(settings)])
    shutil.rmtree(logs, ignore_errors=True)
    return {
        "workers": workers,
        "seconds": seconds,
        "runs": [result.as_dict() for result in (healthz, reads, writes)],
        "reads_of_healthz": round(reads.rate / healthz.rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each wrk run")
    parser.add_argument("--port", type=int, default=18080)
    args = parser.parse_args()
    try:
        result = run_http(
            Settings.from_env(os.environ), args.workers, args.seconds, args.port, sys.stderr
        )
    except HttpPhaseFailed as error:
        raise SystemExit(str(error)) from None
    for run in result["runs"]:
        print(WrkRun(**run).line())
    print(f"balance reads at {result['reads_of_healthz']:.0%} of the same process's /healthz")


if __name__ == "__main__":
    main()
