"""A Redis server (Debian's `redis-server`) for the read model, on loopback.

Plaintext by default. Secure: TLS only (the plaintext port is closed), users from an ACL file
whose default user is off, so every client names itself; the launcher's `admin` user then
gives each component its own user (`ledger acl apply`), which `ACL SAVE` keeps in that file.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import redis

from cli.devstack.errors import DevstackError
from cli.devstack.process import ManagedProcess, port_is_free, wait_until
from settings import Settings


@dataclass(frozen=True)
class RedisSecurity:
    certificate: Path
    key: Path
    ca_file: Path
    admin_password: str


class RedisServer:
    def __init__(self, settings: Settings, home: Path, security: RedisSecurity | None = None):
        self.settings = settings
        self.home = home / "redis"
        self.security = security
        self.process = ManagedProcess(
            name="redis",
            pid_file=self.home / "redis.pid",
            log_file=self.home / "redis.log",
            # Redis rewrites its process title, so only the program name is stable.
            marker="redis-server",
        )

    @property
    def url(self) -> str:
        return (
            self.url_for("admin", self.security.admin_password)
            if self.security
            else (f"redis://127.0.0.1:{self.settings.redis_port}/0")
        )

    def url_for(self, user: str, password: str) -> str:
        """The URL a client of this server uses as `user` (secure servers only)."""
        assert self.security is not None
        return (
            f"rediss://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@127.0.0.1:{self.settings.redis_port}/0"
            f"?ssl_ca_certs={quote(str(self.security.ca_file))}"
        )

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
        self.process.start([server, *self._arguments()], cwd=self.home)
        return wait_until(self._ready_or_dead, self.settings.services_ready_timeout_s, "Redis")

    def _arguments(self) -> list[str]:
        port = str(self.settings.redis_port)
        arguments = ["--bind", "127.0.0.1", "--dir", str(self.home)]
        # The read model can always be rebuilt from the journal; the append-only file only
        # spares a replay after an ordinary restart.
        arguments += ["--appendonly", "yes", "--save", ""]
        if self.security is None:
            return [*arguments, "--port", port]
        acl_file = self.home / "users.acl"
        if not acl_file.exists():
            acl_file.write_text(
                f"user default off\nuser admin on >{self.security.admin_password} ~* &* +@all\n"
            )
            acl_file.chmod(0o600)
        return [
            *arguments,
            "--port",
            "0",
            "--tls-port",
            port,
            "--tls-cert-file",
            str(self.security.certificate),
            "--tls-key-file",
            str(self.security.key),
            "--tls-ca-cert-file",
            str(self.security.ca_file),
            # Clients prove who they are with a user and password, not a certificate.
            "--tls-auth-clients",
            "no",
            "--aclfile",
            str(acl_file),
        ]

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
