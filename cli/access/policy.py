"""The access file (`config/access.toml`) read into grants, then resolved for one deployment.

Pure: no broker, no Redis. `load_policy` parses and checks the file; `kafka_grants` and
`redis_rules` turn it into exactly what the broker and Redis are told, with the deployment's
topic prefix, group ids and key prefix filled in, so that what is applied can be compared with
what is there and the difference shown before anything changes.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cli.access.errors import AccessError
from processors.readside.mirror import mirror_group_id
from settings import Settings

PRINCIPAL_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
KAFKA_KEYS = (
    "read",
    "write",
    "describe",
    "delete_records",
    "create",
    "groups",
    "transactional_ids",
)
REDIS_KEYS = ("keys", "read_keys", "channels", "commands")
# Whatever a user's grant says, these stay refused: no component needs to flush, reconfigure,
# enumerate every key or debug the server, and each would let one credential hurt everyone.
REDIS_ALWAYS_REFUSED = ("-@admin", "-@dangerous")
COMMAND_RULE = re.compile(r"^[+-](@[a-z]+|[a-z]+(\|[a-z-]+)?)$")
GLOB_SPECIALS = re.compile(r"([*?\[\]\\])")


class ResourceKind(StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    TRANSACTIONAL_ID = "transactional_id"


class Operation(StrEnum):
    READ = "read"
    WRITE = "write"
    DESCRIBE = "describe"
    DELETE = "delete"
    CREATE = "create"


@dataclass(frozen=True, order=True)
class KafkaGrant:
    """One ALLOW ACL: `principal` may `operation` on the resource `name` (a prefix if
    `prefixed`), from any host."""

    principal: str
    kind: ResourceKind
    name: str
    prefixed: bool
    operation: Operation

    def describe(self) -> str:
        pattern = f"{self.name}*" if self.prefixed else self.name
        return f"User:{self.principal} {self.operation.value} {self.kind.value} {pattern}"


@dataclass(frozen=True)
class Principal:
    name: str
    about: str
    kafka: Mapping[str, tuple[str, ...]]
    redis: Mapping[str, tuple[str, ...]] | None


@dataclass(frozen=True)
class AccessPolicy:
    principals: Mapping[str, Principal]

    @property
    def redis_users(self) -> list[str]:
        return [p.name for p in self.principals.values() if p.redis is not None]


def load_policy(path: str | Path) -> AccessPolicy:
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise AccessError(f"access file {path} not found (LEDGER_ACCESS_CONFIG)") from None
    except tomllib.TOMLDecodeError as error:
        raise AccessError(f"access file {path} is not valid TOML: {error}") from None
    return parse_policy(raw, str(path))


def parse_policy(raw: Mapping[str, Any], source: str = "access file") -> AccessPolicy:
    unknown = set(raw) - {"principals"}
    if unknown:
        raise AccessError(f"{source}: unknown section(s) {sorted(unknown)}")
    principals = {}
    for name, body in dict(raw.get("principals", {})).items():
        where = f"{source}: principal {name!r}"
        if not PRINCIPAL_NAME.match(name):
            raise AccessError(f"{where}: names are lowercase letters, digits and '-'")
        if name in ("admin", "broker", "default"):
            raise AccessError(f"{where}: the name is reserved for the cluster's own users")
        if not isinstance(body, Mapping):
            raise AccessError(f"{where} must be a table")
        extra = set(body) - {"about", "kafka", "redis"}
        if extra:
            raise AccessError(f"{where}: unknown key(s) {sorted(extra)}")
        principals[name] = Principal(
            name=name,
            about=str(body.get("about", "")),
            kafka=_lists(body.get("kafka", {}), KAFKA_KEYS, f"{where}.kafka"),
            redis=(
                _lists(body["redis"], REDIS_KEYS, f"{where}.redis") if "redis" in body else None
            ),
        )
        for rule in (principals[name].redis or {}).get("commands", ()):
            if not COMMAND_RULE.match(rule):
                raise AccessError(f"{where}.redis: {rule!r} is not a command rule like +@read")
    if not principals:
        raise AccessError(f"{source} names no principal")
    return AccessPolicy(principals)


def _lists(table: object, allowed: tuple[str, ...], where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, Mapping):
        raise AccessError(f"{where} must be a table")
    extra = set(table) - set(allowed)
    if extra:
        raise AccessError(f"{where}: unknown key(s) {sorted(extra)}; allowed: {list(allowed)}")
    lists = {}
    for key, values in table.items():
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise AccessError(f"{where}.{key} must be a list of non-empty strings")
        lists[key] = tuple(values)
    return lists


def kafka_grants(policy: AccessPolicy, settings: Settings) -> set[KafkaGrant]:
    """Every ACL the broker must hold for this deployment."""
    names = _placeholders(settings)
    grants = set()
    per_key = {
        "read": (ResourceKind.TOPIC, Operation.READ),
        "write": (ResourceKind.TOPIC, Operation.WRITE),
        "describe": (ResourceKind.TOPIC, Operation.DESCRIBE),
        "delete_records": (ResourceKind.TOPIC, Operation.DELETE),
        "create": (ResourceKind.TOPIC, Operation.CREATE),
        "groups": (ResourceKind.GROUP, Operation.READ),
        "transactional_ids": (ResourceKind.TRANSACTIONAL_ID, Operation.WRITE),
    }
    for principal in policy.principals.values():
        for key, patterns in principal.kafka.items():
            kind, operation = per_key[key]
            for pattern in patterns:
                resolved = _fill(pattern, names, principal.name)
                if kind is ResourceKind.TOPIC:
                    resolved = settings.topic_prefix + resolved
                prefixed = resolved.endswith("*")
                name = resolved.rstrip("*")
                if "*" in name or not name:
                    raise AccessError(
                        f"principal {principal.name!r}: {pattern!r} may end in '*' only"
                    )
                grants.add(KafkaGrant(principal.name, kind, name, prefixed, operation))
    return grants


def redis_rules(policy: AccessPolicy, settings: Settings) -> dict[str, list[str]]:
    """The ACL SETUSER rules of each Redis user, passwords aside (they are never reset here)."""
    prefix = GLOB_SPECIALS.sub(r"\\\1", settings.redis_key_prefix)
    rules = {}
    for principal in policy.principals.values():
        if principal.redis is None:
            continue
        grant = principal.redis
        user = ["on", "resetkeys", "resetchannels", "-@all"]
        user += list(grant.get("commands", ()))
        user += list(REDIS_ALWAYS_REFUSED)
        user += [f"~{prefix}{pattern}" for pattern in grant.get("keys", ())]
        user += [f"%R~{prefix}{pattern}" for pattern in grant.get("read_keys", ())]
        user += [f"&{prefix}{pattern}" for pattern in grant.get("channels", ())]
        rules[principal.name] = user
    return rules


def _placeholders(settings: Settings) -> dict[str, str]:
    return {
        "core_group_id": settings.core_group_id,
        "mirror_group_id": mirror_group_id(settings),
        "notify_group_id": settings.notify_group_id,
        "topic_prefix": settings.topic_prefix,
    }


def _fill(pattern: str, names: Mapping[str, str], principal: str) -> str:
    try:
        return pattern.format_map(names)
    except (KeyError, ValueError, IndexError) as error:
        raise AccessError(
            f"principal {principal!r}: {pattern!r} names an unknown setting ({error}); "
            f"known: {sorted(names)}"
        ) from None
