"""`ledger run` (what `make run` ends with) runs the whole product in the foreground: a
transaction posted to the gateway is applied by the core, mirrored to Redis and answered with
its balances; SIGTERM then stops every process cleanly."""

from __future__ import annotations

import json
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
    env = settings_env(settings, LEDGER_GATEWAY_PORT=str(port))
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


def _balance(answer: dict[str, object], asset: str) -> dict[str, object]:
    balances = answer["balances"]
    assert isinstance(balances, list)
    return next(b for b in balances if b["asset"] == asset)
