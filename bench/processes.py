"""The processes under test: started as children, watched through /proc, stopped by SIGTERM.

CPU is read from /proc/<pid>/stat (utime + stime, in clock ticks) and peak memory from
/proc/<pid>/status (VmHWM, the resident set's high-water mark), so the figures are the
kernel's, not an estimate, and cost the children nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from settings import Settings

STOP_TIMEOUT_S = 60.0
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
LOG_TAIL_CHARS = 2_000


@dataclass
class Usage:
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass
class Child:
    """One child process, its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    last_usage: Usage = field(default_factory=Usage)
    stop_s: float | None = None  # how long it took to stop
    killed: bool = False  # it did not stop within STOP_TIMEOUT_S of SIGTERM

    def start(self, cwd: Path) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def usage(self) -> Usage:
        """CPU so far and peak RSS; the last figures read if the process is gone."""
        if self.alive():
            # It may exit between the check and the read: keep the last figures then.
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                self.last_usage = read_usage(self.pid)
        return self.last_usage

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns the exit code."""
        if self.process is None:
            return None
        started = time.monotonic()
        self.usage()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        self.stop_s = round(time.monotonic() - started, 1)
        return self.process.returncode

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except FileNotFoundError:
            return ""


def read_usage(pid: int) -> Usage:
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    peak_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
    return Usage((utime + stime) / CLOCK_TICKS_PER_S, peak_kb / 1024)


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ledger child: `settings` and nothing inherited of the caller's own
    LEDGER_* and KAFKA_* variables, so a deployment's settings can never point a child at real
    topics or keys. Many children share this host: none serves metrics unless `extra` says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "KAFKA_"))}
    env.update(settings.to_env())
    env.update(
        LEDGER_PROGRAMS_CONFIG=str(Path(settings.programs_config).resolve()),
        LEDGER_CORE_METRICS_PORT="0",
        LEDGER_MIRROR_METRICS_PORT="0",
        LEDGER_AUDITOR_METRICS_PORT="0",
        LEDGER_GATEWAY_METRICS_PORT="0",
        LEDGER_NOTIFY_METRICS_PORT="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def ledger_child(name: str, args: list[str], env: dict[str, str], run_dir: Path) -> Child:
    """`ledger <args>` run by this interpreter, as `ledger` itself would be."""
    return Child(name, [sys.executable, "-m", "cli.main", *args], env, run_dir / f"{name}.log")


def module_child(name: str, module: str, env: dict[str, str], run_dir: Path) -> Child:
    return Child(name, [sys.executable, "-m", module], env, run_dir / f"{name}.log")


def group_covers(admin: AdminClient, group: str, topic: str, partitions: int) -> bool:
    """Whether the members of `group` together own every partition of `topic`."""
    future = admin.describe_consumer_groups([group], request_timeout=10)[group]
    try:
        description = future.result()
    except KafkaException:  # the group does not exist yet, or its coordinator is loading
        return False
    owned = {
        tp.partition
        for member in description.members
        for tp in member.assignment.topic_partitions
        if tp.topic == topic
    }
    return len(owned) == partitions
