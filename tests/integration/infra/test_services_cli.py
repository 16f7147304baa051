"""`ledger services` on ports of its own: idempotent up, honest status, down stops only ours,
and one clear line for the failures a person meets (port taken, Java missing)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.devstack.process import port_is_free
from tests.support.ports import free_port
from tests.support.stacks import jar_cache, run_ledger

COMMAND_TIMEOUT_S = 240


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LEDGER_", "KAFKA_", "REDIS_"))
    }
    env.update(
        LEDGER_DEVSTACK_DIR=str(tmp_path / "devstack"),
        LEDGER_KAFKA_PORT=str(free_port()),
        LEDGER_KAFKA_CONTROLLER_PORT=str(free_port()),
        LEDGER_REDIS_PORT=str(free_port()),
        LEDGER_KAFKA_HEAP_MB="512",
    )
    # Share the jar cache of the main stack so this test does not download Kafka again.
    env["LEDGER_KAFKA_JARS_DIR"] = jar_cache()
    yield env
    _ledger(env, "services", "down")


def _ledger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_ledger(env, *args, timeout_s=COMMAND_TIMEOUT_S)


def test_up_twice_status_down(stack_env: dict[str, str]) -> None:
    kafka_port, redis_port = stack_env["LEDGER_KAFKA_PORT"], stack_env["LEDGER_REDIS_PORT"]

    first = _ledger(stack_env, "services", "up")
    assert first.returncode == 0, first.stderr
    assert f"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{kafka_port}" in first.stdout
    assert f"REDIS_URL=redis://127.0.0.1:{redis_port}/0" in first.stdout
    assert "started in" in first.stdout

    second = _ledger(stack_env, "services", "up")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("already running") == 2

    status = _ledger(stack_env, "services", "status")
    assert status.returncode == 0
    assert status.stdout.count("ready") == 2

    # Shapes share ports: another one is refused while this one runs, with the way out.
    other = _ledger(stack_env, "services", "up", "--secure")
    assert other.returncode == 2
    assert "the plaintext stack is running; `ledger services down` first" in other.stderr

    down = _ledger(stack_env, "services", "down")
    assert "stopped: kafka, redis" in down.stdout
    assert port_is_free(int(kafka_port)) and port_is_free(int(redis_port))

    after = _ledger(stack_env, "services", "status")
    assert after.returncode == 3
    assert after.stdout.count("stopped") == 2

    nothing = _ledger(stack_env, "services", "down")
    assert "nothing of ours was running" in nothing.stdout


def test_a_taken_port_is_one_clear_line(stack_env: dict[str, str]) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(stack_env["LEDGER_REDIS_PORT"])))
        squatter.listen()
        result = _ledger(stack_env, "services", "up")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"ledger: error: port {stack_env['LEDGER_REDIS_PORT']} is taken by another process; "
        "stop it or choose another port with LEDGER_REDIS_PORT"
    ]


def test_missing_java_is_one_clear_line(stack_env: dict[str, str], tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    result = _ledger({**stack_env, "PATH": str(empty_bin)}, "services", "up")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ledger: error: java not found on PATH")
