"""`python -m bench.micro.disk_state` and `bench.micro.core_restart`, small: every figure is
printed, a restart after a checkpoint reads at most the tail, and they leave no topics behind.
No timing is asserted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from confluent_kafka.admin import AdminClient

from settings import Settings
from tests.infrastructure import Infrastructure

ROOT = Path(__file__).resolve().parents[3]
ACCOUNTS = 3_000


def _bench_env(infrastructure: Infrastructure) -> dict[str, str]:
    """This environment without the caller's deployment settings, pointed at the test stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "KAFKA_"))}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=infrastructure.kafka_bootstrap_servers,
        REDIS_URL=infrastructure.redis_url,
    )
    return env


def test_the_disk_state_benchmark_prints_its_figures(
    infrastructure: Infrastructure, settings: Settings
) -> None:
    env = _bench_env(infrastructure)
    run = subprocess.run(
        [sys.executable, "-m", "bench.micro.disk_state", "--accounts", str(ACCOUNTS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    for line in ("seeded", "disk, cold restore", "disk, random reads", "disk used"):
        assert line in out, out
    assert re.search(rf"disk, cold restore: {ACCOUNTS:,} accounts from {ACCOUNTS:,}", out), out
    assert re.search(rf"disk, restart: .*: {ACCOUNTS:,} accounts from 0 changelog", out), out
    assert re.search(rf"memory, cold restore: {ACCOUNTS:,} accounts from {ACCOUNTS:,}", out), out
    admin = AdminClient(settings.kafka_config())
    assert not [t for t in admin.list_topics(timeout=30).topics if t.startswith("bench-disk-")]


def test_the_core_restart_benchmark_restarts_a_real_core_three_ways(
    infrastructure: Infrastructure, settings: Settings
) -> None:
    env = _bench_env(infrastructure)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.micro.core_restart",
            "--accounts",
            str(ACCOUNTS),
            "--run-seconds",
            "2",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    restored = re.findall(
        r"^(.*): serving again .* restored ([\d,]+) accounts from ([\d,]+)", out, re.M
    )
    assert [label for label, _, _ in restored] == [
        "first start (cold restore)",
        "after kill -9",
        "after a clean stop",
    ], out
    counts = [(int(a.replace(",", "")), int(r.replace(",", ""))) for _, a, r in restored]
    assert counts[0] == (ACCOUNTS, ACCOUNTS), out  # everything read from the changelog
    # Accrues only change seeded accounts; a restart reads only what its checkpoint missed.
    assert all(accounts == ACCOUNTS for accounts, _ in counts[1:]), out
    assert counts[1][1] < ACCOUNTS and counts[2][1] == 0, out
    admin = AdminClient(settings.kafka_config())
    assert not [t for t in admin.list_topics(timeout=30).topics if t.startswith("bench-restart-")]
