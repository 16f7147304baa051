"""`ledger run` (what `make run` ends with) runs the whole product in the foreground: a
transaction posted to the gateway is applied by the core, mirrored to Redis and answered with
its balances; SIGTERM then stops every process cleanly. Its output is JSON lines through a pipe
and, under a pseudo-terminal, a banner and readable, coloured lines."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace

from settings import Settings
from tests.support.ports import free_port
from tests.support.processes import ROOT, settings_env

READY_TIMEOUT_S = 120.0


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def test_run_serves_a_transaction_end_to_end_and_stops_cleanly(settings: Settings) -> None:
    settings = replace(settings, core_group_id=f"{settings.topic_prefix}core")
    port = free_port()
    env = settings_env(settings, LEDGER_GATEWAY_PORT=str(port), LEDGER_LOG_FORMAT="auto")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(url):
            assert time.monotonic() < deadline and process.poll() is None, "not ready in time"
            time.sleep(0.5)
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.main",
                "keys",
                "create",
                "--program",
                "acme",
                "--scopes",
                "transactions:write,balances:read",
                "--label",
                "run-test",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        key = created.stdout.split()[0]
        body = {"operation": "ACCRUE", "account_id": "ann", "asset": "points", "amount": 42}
        request = urllib.request.Request(
            f"{url}/v1/programs/acme/transactions",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Idempotency-Key": "run-test-1",
            },
            method="POST",
        )
        # The gateway is ready before the core and mirror are: until they are, the write is
        # answered 202; the same Idempotency-Key then gives its outcome once there is one.
        while True:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
                status = response.status
            if status == 201:
                break
            assert status == 202 and time.monotonic() < deadline, answer
            time.sleep(0.5)
        assert answer["status"] == "APPLIED"
        assert {"asset": "points", "available": 42}.items() <= _balance(answer, "points").items()
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=120)
    assert process.returncode == 0, rest[-3000:]
    for name in ("core", "mirror", "auditor", "gateway"):
        assert f"[run] {name} stopped (0)" in rest, rest[-3000:]
    # Not a terminal: each process logs JSON lines behind its name.
    logged = [line.split("] ", 1)[1].strip() for line in rest.splitlines() if _CHILD.match(line)]
    assert logged and all(json.loads(line)["level"] for line in logged), logged[:20]
    assert any(json.loads(line)["logger"].startswith("processors.core") for line in logged)


_CHILD = re.compile(r"^\[(core|mirror|auditor|gateway)\]")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_run_in_a_terminal_prints_a_banner_and_readable_coloured_lines(
    settings: Settings,
) -> None:
    settings = replace(settings, core_group_id=f"{settings.topic_prefix}core")
    port = free_port()
    env = settings_env(settings, LEDGER_GATEWAY_PORT=str(port), LEDGER_LOG_FORMAT="auto")
    env.pop("NO_COLOR", None)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run"],
        cwd=ROOT,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    url = f"http://127.0.0.1:{port}"
    output = bytearray()
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not (_ready(url) and b"assigned partitions" in output):
            assert time.monotonic() < deadline and process.poll() is None, output[-3000:]
            output += _read_available(leader)
    finally:
        process.send_signal(signal.SIGTERM)
        while chunk := _read_available(leader, until_closed=True):
            output += chunk
        process.wait(60)
        os.close(leader)
    shown = output.decode(errors="replace")
    plain = _ANSI.sub("", shown)
    assert process.returncode == 0, plain[-3000:]
    for expected in (
        "Reward ledger",
        f"API docs   {url}/docs",
        f"Dashboard  {url}/dashboard",
        "ledger keys create --program acme --scopes admin --label me",
    ):
        assert expected in plain, plain[:3000]
    assert "\x1b[36m[core]" in shown  # each process's name in its colour
    lines = [line.strip() for line in plain.splitlines()]
    logged = [line.split("] ", 1)[1].strip() for line in lines if _CHILD.match(line)]
    assert logged, plain[-3000:]
    assert not [line for line in logged if line.startswith("{")], "JSON on a terminal"
    core = [line for line in lines if line.startswith("[core]") and " INFO " in line]
    assert any("core.loop" in line and "assigned partitions" in line for line in core), core


def _read_available(fd: int, until_closed: bool = False) -> bytes:
    """What the terminal has to read (b"" when nothing came in time, or the other side is
    gone)."""
    ready, _, _ = select.select([fd], [], [], 5.0 if until_closed else 0.2)
    if not ready:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: every process holding the terminal has exited
        return b""


def _balance(answer: dict[str, object], asset: str) -> dict[str, object]:
    balances = answer["balances"]
    assert isinstance(balances, list)
    return next(b for b in balances if b["asset"] == asset)


def test_run_of_a_region_on_its_own_cluster_makes_the_regions_topics(settings: Settings) -> None:
    # KAFKA_BOOTSTRAP_SERVERS set: the cluster is the operator's, not the local regions stack.
    # The region's outbox and directory must be made with the other topics, or the core
    # cannot send a request home nor record a move.
    from confluent_kafka.admin import AdminClient

    env = settings_env(
        settings,
        LEDGER_GATEWAY_PORT=str(free_port()),
        LEDGER_REGIONS="eu,us",
        LEDGER_LOG_FORMAT="json",
    )
    env.pop("LEDGER_REGION", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run", "--region", "eu"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if line.startswith("[run] topics ready") or len(seen) > 200:
                break
        assert any(line.startswith("[run] topics ready") for line in seen), seen
        topics = AdminClient(settings.kafka_config()).list_topics(timeout=30).topics
        for name in (settings.topics.outbox, settings.topics.directory):
            assert name in topics, (
                name,
                sorted(t for t in topics if t.startswith(settings.topic_prefix)),
            )
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=120)
