"""API keys: bound to programs and scopes, stored hashed in Redis, never logged.

A key reads `rlk_<key_id>_<secret>`: `key_id` (12 hex digits) names the key in listings,
logs, metrics and as the principal of every write; `secret` (32 random bytes, base64url) is
shown once at creation. Redis keeps only SHA-256 of `key_id:secret`: the secret has 256 bits
of entropy, so a slow password hash would add nothing but latency. A stolen Redis dump cannot
be replayed as keys.

    P + "gw:apikey:{key_id}"   hash   digest, programs, scopes, label, created/revoked, limits,
                                      client certificate fingerprint
    P + "gw:apikeys"           set    every key id (for `ledger keys list`)

Scopes: `transactions:write` (every client operation but ADJUST), `adjustments:write`
(ADJUST), `balances:read` (balances, history, request status), `admin` (all of them, plus
program totals). A key only ever sees its own programs: any other program answers 404.
`programs:admin` (create programs, add and change assets, of any program) is the one scope
that reaches beyond them, and only ever by its own name.

Revocation takes effect within `KEY_CACHE_TTL_S` on every gateway process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

import redis
import redis.asyncio

TOKEN_PREFIX = "rlk"
KEY_CACHE_TTL_S = 2.0
KEY_CACHE_ENTRIES_MAX = 10_000
_TOKEN = re.compile(r"^rlk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class Scope(StrEnum):
    TRANSACTIONS_WRITE = "transactions:write"
    ADJUSTMENTS_WRITE = "adjustments:write"
    BALANCES_READ = "balances:read"
    ADMIN = "admin"
    PROGRAMS_ADMIN = "programs:admin"
    """Create programs and change any program's assets: beyond the key's own programs, so
    never implied by `admin`."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    programs: frozenset[str]
    scopes: frozenset[Scope]
    label: str
    created_at_ms: int
    revoked_at_ms: int | None = None
    rate_per_s: int | None = None
    rate_burst: int | None = None
    # SHA-256 of the client certificate the key may only be used with (None: any connection).
    client_cert_sha256: str | None = None

    @property
    def principal(self) -> str:
        """Who made a write, as recorded in the journal."""
        return f"apikey:{self.key_id}"

    def sees(self, program: str) -> bool:
        return program in self.programs

    def allows(self, scope: Scope) -> bool:
        if scope is Scope.PROGRAMS_ADMIN:
            return scope in self.scopes
        return Scope.ADMIN in self.scopes or scope in self.scopes


def key_record(prefix: str, key_id: str) -> str:
    return f"{prefix}gw:apikey:{key_id}"


def key_index(prefix: str) -> str:
    return f"{prefix}gw:apikeys"


def new_token() -> tuple[str, str]:
    """(key_id, token) of a fresh key."""
    key_id = secrets.token_hex(6)
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def split_token(token: str) -> tuple[str, str] | None:
    match = _TOKEN.match(token)
    return None if match is None else (match.group(1), match.group(2))


def digest(key_id: str, secret: str) -> str:
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def key_to_fields(key: ApiKey, secret_digest: str) -> dict[str, str]:
    fields = {
        "digest": secret_digest,
        "programs": json.dumps(sorted(key.programs)),
        "scopes": json.dumps(sorted(key.scopes)),
        "label": key.label,
        "created_at_ms": str(key.created_at_ms),
    }
    if key.rate_per_s is not None:
        fields["rate_per_s"] = str(key.rate_per_s)
    if key.rate_burst is not None:
        fields["rate_burst"] = str(key.rate_burst)
    if key.client_cert_sha256 is not None:
        fields["client_cert_sha256"] = key.client_cert_sha256
    return fields


def fields_to_key(key_id: str, raw: Mapping[Any, Any]) -> tuple[ApiKey, str]:
    """(key, stored digest) from a Redis hash."""
    fields = {_text(k): _text(v) for k, v in raw.items()}
    revoked = fields.get("revoked_at_ms")
    rate = fields.get("rate_per_s")
    burst = fields.get("rate_burst")
    key = ApiKey(
        key_id=key_id,
        programs=frozenset(json.loads(fields["programs"])),
        scopes=frozenset(Scope(s) for s in json.loads(fields["scopes"])),
        label=fields.get("label", ""),
        created_at_ms=int(fields["created_at_ms"]),
        revoked_at_ms=None if revoked is None else int(revoked),
        rate_per_s=None if rate is None else int(rate),
        rate_burst=None if burst is None else int(burst),
        client_cert_sha256=fields.get("client_cert_sha256"),
    )
    return key, fields["digest"]


class KeyAdmin:
    """Creating, revoking and listing keys (the `ledger keys` command; blocking client)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def create(
        self,
        programs: Iterable[str],
        scopes: Iterable[Scope],
        label: str = "",
        rate_per_s: int | None = None,
        rate_burst: int | None = None,
        client_cert_sha256: str | None = None,
    ) -> tuple[ApiKey, str]:
        """The new key and its token; the token is not stored anywhere and cannot be shown
        again."""
        key_id, token = new_token()
        split = split_token(token)
        assert split is not None
        key = ApiKey(
            key_id,
            frozenset(programs),
            frozenset(scopes),
            label,
            time.time_ns() // 1_000_000,
            rate_per_s=rate_per_s,
            rate_burst=rate_burst,
            client_cert_sha256=client_cert_sha256,
        )
        pipe = self.redis.pipeline(transaction=True)
        fields = cast(Mapping[Any, Any], key_to_fields(key, digest(*split)))
        pipe.hset(key_record(self.prefix, key_id), mapping=fields)
        pipe.sadd(key_index(self.prefix), key_id)
        pipe.execute()
        return key, token

    def revoke(self, key_id: str) -> bool:
        """False when no such key exists."""
        record = key_record(self.prefix, key_id)
        if not self.redis.exists(record):
            return False
        self.redis.hset(record, "revoked_at_ms", str(time.time_ns() // 1_000_000))
        return True

    def list(self) -> list[ApiKey]:
        keys = []
        for raw_id in sorted(self.redis.smembers(key_index(self.prefix))):
            key_id = _text(raw_id)
            raw = self.redis.hgetall(key_record(self.prefix, key_id))
            if raw:
                keys.append(fields_to_key(key_id, raw)[0])
        return keys


class KeyStore:
    """Authenticates tokens for the gateway, with a short in-process cache."""

    def __init__(self, client: redis.asyncio.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self._cache: dict[str, tuple[float, ApiKey | None, str]] = {}

    async def authenticate(self, token: str) -> ApiKey | None:
        """The key of a valid, unrevoked token; None otherwise."""
        split = split_token(token)
        if split is None:
            return None
        key_id, secret = split
        key, stored = await self._load(key_id)
        if key is None or key.revoked_at_ms is not None:
            return None
        if not hmac.compare_digest(stored, digest(key_id, secret)):
            return None
        return key

    async def still_valid(self, key_id: str) -> bool:
        """Whether the key is still there and not revoked (a stream asks this as it runs)."""
        key, _ = await self._load(key_id)
        return key is not None and key.revoked_at_ms is None

    async def _load(self, key_id: str) -> tuple[ApiKey | None, str]:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        raw = await self.redis.hgetall(key_record(self.prefix, key_id))
        key, stored = fields_to_key(key_id, raw) if raw else (None, "")
        if len(self._cache) >= KEY_CACHE_ENTRIES_MAX:
            self._cache.clear()
        self._cache[key_id] = (now + KEY_CACHE_TTL_S, key, stored)
        return key, stored
