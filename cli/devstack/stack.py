"""Start, stop and report the whole local stack, in one of its shapes.

Shapes: plaintext with one broker (the everyday stack, in `<devstack>/` itself), and, one flag
away, `--secure` (TLS listeners, SCRAM users, ACLs; Redis with TLS and ACL users) and/or
`--brokers 3` (a replicated KRaft cluster). Each other shape lives in
`<devstack>/stacks/<shape>/`, so switching shapes never mixes their data; they share ports,
so one runs at a time.

A secure stack is provisioned by `up`, as the cluster's `admin`: one SCRAM user per principal
of the access file (config/access.toml) with a generated password, the ledger's topics, the
ACLs of the file, the Redis users, and an env file per principal (credentials.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import redis
from confluent_kafka.admin import AdminClient

# Declared where they are defined: confluent_kafka.admin re-exports them untyped.
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from cli.access import kafka_acls, redis_users
from cli.access.policy import AccessPolicy, load_policy, redis_rules
from cli.devstack.credentials import StackCredentials
from cli.devstack.errors import DevstackError
from cli.devstack.kafka import KafkaCluster, KafkaSecurity
from cli.devstack.kafka_config import SCRAM_MECHANISM, BrokerTls
from cli.devstack.redis import RedisSecurity, RedisServer
from cli.devstack.tls import IssuedCertificate, LocalAuthority
from processors.topics import ensure_topics, ledger_topics
from settings import KAFKA_PASSTHROUGH_PREFIX, Settings

ADMIN = "admin"
SCRAM_ITERATIONS = 8192
BROKERS_MAX = 5
PROVISION_TIMEOUT_S = 60


@dataclass(frozen=True)
class StackShape:
    secure: bool = False
    brokers: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.brokers <= BROKERS_MAX:
            raise DevstackError(f"--brokers must be 1 to {BROKERS_MAX}, not {self.brokers}")

    @property
    def name(self) -> str:
        parts = (["secure"] if self.secure else []) + (
            [f"brokers-{self.brokers}"] if self.brokers > 1 else []
        )
        return "-".join(parts) or "plaintext"

    def home(self, root: Path) -> Path:
        return root if self == StackShape() else root / "stacks" / self.name


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    pid: int | None
    answers: bool
    ready_after_s: float | None = None

    def describe(self) -> str:
        if self.pid is None:
            return f"{self.name:<8} stopped  ({self.address})"
        health = "ready" if self.answers else "not answering"
        return f"{self.name:<8} running  pid {self.pid}  {self.address}  {health}"


class Stack:
    def __init__(
        self, settings: Settings, shape: StackShape | None = None, home: Path | None = None
    ) -> None:
        """`home` places the stack elsewhere than its shape's directory (a region's stack)."""
        self.settings = settings
        self.shape = shape or StackShape()
        self.root = Path(settings.devstack_dir).resolve()
        self.home = home or self.shape.home(self.root)
        self.credentials = StackCredentials(self.home)
        self.authority = LocalAuthority(self.home / "tls")
        kafka_security, redis_security = self._security() if self.shape.secure else (None, None)
        self.kafka = KafkaCluster(settings, self.home, self.shape.brokers, kafka_security)
        self.redis = RedisServer(settings, self.home, redis_security)

    @classmethod
    def running(cls, settings: Settings) -> Stack | None:
        """The stack of whichever shape is running (one at most: they share ports)."""
        for stack in cls.every_shape(settings):
            if stack.kafka.running() or stack.redis.process.pid() is not None:
                return stack
        return None

    @classmethod
    def every_shape(cls, settings: Settings) -> list[Stack]:
        shapes = [StackShape()]
        for secure in (False, True):
            for brokers in range(1, BROKERS_MAX + 1):
                shape = StackShape(secure, brokers)
                if shape != StackShape() and shape.home(Path(settings.devstack_dir)).exists():
                    shapes.append(shape)
        return [cls(settings, shape) for shape in shapes]

    def _security(self) -> tuple[KafkaSecurity, RedisSecurity]:
        self.authority.ensure()
        admin_password = self.credentials.password(ADMIN)
        broker = self.authority.issue("broker", "broker")
        redis_cert = self.authority.issue("redis", "redis")
        ca = self.authority.ca_certificate
        return (
            KafkaSecurity(
                tls=BrokerTls(broker.pkcs12, broker.pkcs12_password, ca),
                admin_password=admin_password,
                ca_file=ca,
            ),
            RedisSecurity(redis_cert.certificate, redis_cert.key, ca, admin_password),
        )

    def up(self) -> list[ServiceStatus]:
        other = Stack.running(self.settings)
        if other is not None and other.shape != self.shape:
            raise DevstackError(
                f"the {other.shape.name} stack is running; `ledger services down` first "
                "(shapes share ports)"
            )
        # Check every tool before starting anything, so a missing one leaves nothing half-up.
        self.kafka.preflight()
        self.redis.preflight()
        redis_s = self.redis.start()
        kafka_s = self.kafka.start()
        if self.shape.secure:
            self.provision()
        return [
            self._status_kafka(ready_after_s=kafka_s),
            self._status_redis(ready_after_s=redis_s),
        ]

    def down(self) -> list[str]:
        """Stop what this launcher started; returns the names of services it stopped."""
        stopped = self.kafka.stop()
        if self.redis.process.stop():
            stopped.append("redis")
        return stopped

    def status(self) -> list[ServiceStatus]:
        return [self._status_kafka(), self._status_redis()]

    def _status_kafka(self, ready_after_s: float | None = None) -> ServiceStatus:
        running = self.kafka.running()
        pid = running[0].process.pid() if running else None
        answers = (
            pid is not None and len(running) == len(self.kafka.nodes) and (self.kafka.answers())
        )
        name = "kafka" if len(self.kafka.nodes) == 1 else f"kafka x{len(running)}"
        return ServiceStatus(name, self.kafka.bootstrap, pid, answers, ready_after_s)

    def _status_redis(self, ready_after_s: float | None = None) -> ServiceStatus:
        pid = self.redis.process.pid()
        answers = pid is not None and self.redis.answers()
        address = f"{'rediss' if self.shape.secure else 'redis'}://127.0.0.1:" + str(
            self.settings.redis_port
        )
        return ServiceStatus("redis", address, pid, answers, ready_after_s)

    # -- principals -------------------------------------------------------------------------

    def policy(self) -> AccessPolicy:
        return load_policy(self.settings.access_config)

    def environment(self, principal: str = "operator") -> dict[str, str]:
        """The variables that point a client at this stack (as `principal` when secure)."""
        if not self.shape.secure:
            return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap, "REDIS_URL": self.redis.url}
        password = self.credentials.password(principal)
        kafka = {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": principal,
            "sasl.password": password,
            "ssl.ca.location": str(self.authority.ca_certificate),
        }
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap}
        env.update(
            {KAFKA_PASSTHROUGH_PREFIX + k.upper().replace(".", "_"): v for k, v in kafka.items()}
        )
        if principal == ADMIN or principal in self.policy().redis_users:
            env["REDIS_URL"] = self.redis.url_for(principal, password)
        return env

    def settings_for(self, principal: str = "operator") -> Settings:
        """These settings, as `principal` on this stack."""
        env = self.environment(principal)
        passthrough = {
            name[len(KAFKA_PASSTHROUGH_PREFIX) :].lower().replace("_", "."): value
            for name, value in env.items()
            if name.startswith(KAFKA_PASSTHROUGH_PREFIX)
        }
        return dataclasses.replace(
            self.settings,
            kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
            redis_url=env.get("REDIS_URL", self.settings.redis_url),
            kafka_client_config=passthrough,
        )

    def provision(self) -> None:
        """Users, topics, ACLs and env files of a secure stack (idempotent)."""
        policy = self.policy()
        principals = list(policy.principals)
        passwords = self.credentials.passwords([ADMIN, *principals])
        admin = AdminClient(self.kafka.admin_config())
        self._scram_users(admin, {name: passwords[name] for name in principals})
        ensure_topics(admin, ledger_topics(self.settings))
        kafka_acls.apply(admin, kafka_acls.plan(admin, policy, self.settings))
        client = redis.Redis.from_url(self.redis.url)
        try:
            redis_users.apply(client, redis_rules(policy, self.settings))
            redis_users.set_passwords(
                client, {name: passwords[name] for name in policy.redis_users}
            )
        finally:
            client.close()
        for principal in [ADMIN, *principals]:
            self.credentials.write_env_file(principal, self.environment(principal))
        for principal in principals:
            # A client certificate each, to try HTTPS keys bound to one (README "HTTPS").
            self.client_certificate(principal)

    def client_certificate(self, principal: str) -> IssuedCertificate:
        """`principal`'s client certificate from the local CA (`tls/client-<principal>.pem`)."""
        return self.authority.issue(f"client-{principal}", principal, server=False)

    def gateway_tls_environment(self) -> dict[str, str]:
        """HTTPS for a gateway on this stack: a certificate for localhost from the local CA,
        which also signs the clients' certificates it accepts."""
        issued = self.authority.issue("gateway-https", "localhost")
        return {
            "LEDGER_GATEWAY_TLS_CERT": str(issued.certificate),
            "LEDGER_GATEWAY_TLS_KEY": str(issued.key),
            "LEDGER_GATEWAY_TLS_CLIENT_CA": str(self.authority.ca_certificate),
        }

    def _scram_users(self, admin: AdminClient, passwords: dict[str, str]) -> None:
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
        upserts: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(name, info, password.encode())
            for name, password in passwords.items()
        ]
        futures = admin.alter_user_scram_credentials(upserts, request_timeout=PROVISION_TIMEOUT_S)
        for name, future in futures.items():
            try:
                future.result()
            except Exception as error:  # KafkaException: one clear line for the person
                raise DevstackError(f"could not create the Kafka user {name}: {error}") from None
