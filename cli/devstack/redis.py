"""A Redis server (Debian's `redis-server`) for the read model, on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import redis

from cli.devstack.errors import DevstackError
from cli.devstack.process import ManagedProcess, port_is_free, wait_until
from ledger.settings import Settings


class RedisServer:
    def __init__(self, settings: Settings, root: Path) -> None:
        self.settings = settings
        self.home = root / "redis"
        self.process = ManagedProcess(
            name="redis",
            pid_file=self.home / "redis.pid",
            log_file=self.home / "redis.log",
            # Redis rewrites its process title, so only the program name is stable.
            marker="redis-server",
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.settings.redis_port}/0"

    def preflight(self) -> None:
        if shutil.which("redis-server") is None:
            raise DevstackError(
                "redis-server not found on PATH: run `make setup` or apt-get install redis-server"
            )

    def start(self) -> float | None:
        if self.process.pid() is not None:
            return None  # already running
        if not port_is_free(self.settings.redis_port):
            raise DevstackError(
                f"port {self.settings.redis_port} is taken by another process; stop it or "
                "choose another port with LEDGER_REDIS_PORT"
            )
        self.preflight()
        server = shutil.which("redis-server") or "redis-server"
        self.home.mkdir(parents=True, exist_ok=True)
        self.process.start(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.settings.redis_port),
                "--dir",
                str(self.home),
                # The read model can always be rebuilt from the journal; the append-only file
                # only spares a replay after an ordinary restart.
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            cwd=self.home,
        )
        return wait_until(self._ready_or_dead, self.settings.services_ready_timeout_s, "Redis")

    def _ready_or_dead(self) -> bool:
        if self.process.exited_early():
            raise DevstackError("Redis exited during start-up: " + self.process.log_tail(1))
        return self.answers()

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_timeout=1.0)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()
