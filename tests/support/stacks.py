"""Local stacks of other shapes (secure, replicated) for the tests that need one.

Each runs on ports of its own in a temporary directory and shares only the Kafka jar cache
with the main stack. It is started as a person starts it, `ledger services up ...` in a child
process (the servers outlive the command, so they are nobody's child in the test), and
stopped with `ledger services down`. If it cannot start, the test fails.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from cli.devstack import Stack, StackShape
from cli.devstack.regions import RegionsStack
from settings import Settings
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 3
COMMAND_TIMEOUT_S = 300


def jar_cache() -> str:
    """The main stack's jar cache, so no test downloads Kafka again."""
    if os.environ.get("LEDGER_KAFKA_JARS_DIR"):
        return os.environ["LEDGER_KAFKA_JARS_DIR"]
    devstack = Path(os.environ.get("LEDGER_DEVSTACK_DIR", ROOT / ".devstack"))
    return str((devstack if devstack.is_absolute() else ROOT / devstack) / "kafka" / "libs")


def stack_settings(home: Path) -> Settings:
    return replace(
        Settings(),
        devstack_dir=str(home),
        kafka_jars_dir=jar_cache(),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_internal_port=free_port(),
        redis_port=free_port(),
        mirrormaker_port=free_port(),
        kafka_heap_mb=1024,
        partitions=PARTITIONS,
        programs_config=str(ROOT / "config" / "programs.toml"),
        access_config=str(ROOT / "config" / "access.toml"),
        placement_config=str(ROOT / "config" / "placement.toml"),
    )


@contextlib.contextmanager
def running_stack(home: Path, shape: StackShape) -> Iterator[Stack]:
    settings = stack_settings(home)
    flags = (["--secure"] if shape.secure else []) + ["--brokers", str(shape.brokers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "KAFKA_"))}
    env.update(settings.to_env())
    try:
        ledger(env, "services", "up", *flags)
        yield Stack(settings, shape)
    finally:
        ledger(env, "services", "down")


@contextlib.contextmanager
def running_regions(home: Path, names: tuple[str, ...]) -> Iterator[RegionsStack]:
    """`ledger services up --regions ...`: a broker and a Redis per region, and MirrorMaker 2."""
    settings = stack_settings(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "KAFKA_"))}
    env.update(settings.to_env())
    try:
        ledger(env, "services", "up", "--regions", ",".join(names))
        yield RegionsStack(settings, names)
    finally:
        ledger(env, "services", "down")


def run_ledger(
    env: dict[str, str], *args: str, timeout_s: float = COMMAND_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """`ledger <args>` in a child process, as a person types it."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def ledger(env: dict[str, str], *args: str) -> str:
    """`ledger <args>`, which must succeed; its output."""
    done = run_ledger(env, *args)
    assert done.returncode == 0, f"ledger {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout
