"""Start, stop and report the whole local stack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cli.devstack.kafka import KafkaBroker
from cli.devstack.redis import RedisServer
from ledger.settings import Settings


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    pid: int | None
    answers: bool
    ready_after_s: float | None = None

    def describe(self) -> str:
        if self.pid is None:
            return f"{self.name:<6} stopped  ({self.address})"
        health = "ready" if self.answers else "not answering"
        return f"{self.name:<6} running  pid {self.pid}  {self.address}  {health}"


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.root = Path(settings.devstack_dir).resolve()
        self.kafka = KafkaBroker(settings, self.root)
        self.redis = RedisServer(settings, self.root)

    def up(self) -> list[ServiceStatus]:
        # Check every tool before starting anything, so a missing one leaves nothing half-up.
        self.kafka.preflight()
        self.redis.preflight()
        redis_s = self.redis.start()
        kafka_s = self.kafka.start()
        return [
            self._status_kafka(ready_after_s=kafka_s),
            self._status_redis(ready_after_s=redis_s),
        ]

    def down(self) -> list[str]:
        """Stop what this launcher started; returns the names of services it stopped."""
        stopped = []
        for name, process in (("kafka", self.kafka.process), ("redis", self.redis.process)):
            if process.stop():
                stopped.append(name)
        return stopped

    def status(self) -> list[ServiceStatus]:
        return [self._status_kafka(), self._status_redis()]

    def _status_kafka(self, ready_after_s: float | None = None) -> ServiceStatus:
        pid = self.kafka.process.pid()
        answers = pid is not None and self.kafka.answers()
        return ServiceStatus("kafka", self.kafka.bootstrap, pid, answers, ready_after_s)

    def _status_redis(self, ready_after_s: float | None = None) -> ServiceStatus:
        pid = self.redis.process.pid()
        answers = pid is not None and self.redis.answers()
        return ServiceStatus("redis", self.redis.url, pid, answers, ready_after_s)

    def environment(self) -> dict[str, str]:
        """The variables that point clients at this stack."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap, "REDIS_URL": self.redis.url}
