"""The read API over the Redis model: balances, history, request status, program totals.

`ReadModel` (redis.asyncio) is what the gateway uses; `SyncReadModel` (redis.Redis) serves
the command line and tests. Both read the live generation (see readmodel/keys.py): they GET
the live pointer, read the generation's keys, and read the pointer again in the same
pipeline; if a replay swapped generations in between, they read again, so an answer never
mixes two generations. An empty model (never built, or Redis lost its data and the mirror is
rebuilding it) answers with empty results, never an error.

Errors: only the redis client's own (`redis.exceptions.ConnectionError`, `TimeoutError`).
A malformed stored value is a bug in the writer and raises ValueError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio

from ledger.accounts import ADJUSTMENTS, EXPIRED, HOLDS, ISSUANCE, REDEMPTIONS, TRANSIT
from readmodel.errors import ReadModelError
from readmodel.history import HistoryEntry, parse_history_entry
from readmodel.keys import (
    CUSTOMERS,
    PROCESSED_AT_FIELD,
    SEQUENCE_FIELD,
    TOTALS_SEPARATOR,
    GenerationKeys,
    RequestStatus,
    live_pointer,
    parse_outcome,
)

READ_ATTEMPTS_MAX = 5
"""Generation swaps are rare (one per replay): a read retried this often is a bug."""

"""Totals hash fields are `{asset}|{account}` (asset names may contain dots)."""


@dataclass(frozen=True, slots=True)
class BalanceView:
    asset: str
    available: int
    held: int
    sequence: int
    """The account's sequence after the last applied event (the same for every asset)."""


@dataclass(frozen=True, slots=True)
class ProgramTotals:
    """Per program and asset, derived from postings against the program's system accounts.

    issued = accrued net of reversed accruals (-@issuance); redeemed = spent net of reversals
    (@redemptions); expired (@expired); adjusted = net operator corrections (-@adjustments);
    outstanding = what customers hold: available + held + in transit. By the trial balance,
    outstanding == issued - redeemed - expired + adjusted.
    """

    asset: str
    issued: int
    redeemed: int
    expired: int
    adjusted: int
    outstanding: int
    held: int
    in_transit: int


@dataclass(frozen=True, slots=True)
class TotalsSnapshot:
    """Every program's raw totals and the journal offsets they sum up to, read atomically."""

    generation: str
    offsets: dict[int, int]
    """Journal partition -> the last offset whose event the totals include."""
    totals: dict[str, dict[str, int]]
    """program -> `{asset}|{account}` -> sum of postings"""


class ModelChangedTooOften(ReadModelError):
    """The live generation kept changing under a read (READ_ATTEMPTS_MAX times)."""


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_balances(raw: Mapping[Any, Any]) -> list[BalanceView]:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    sequence = int(fields.get(SEQUENCE_FIELD, "0"))
    assets: dict[str, dict[str, int]] = {}
    for name, value in fields.items():
        if name.startswith("_"):
            continue
        asset, part = name.rsplit(".", 1)
        assets.setdefault(asset, {})[part] = int(value)
    return [
        BalanceView(asset, parts.get("available", 0), parts.get("held", 0), sequence)
        for asset, parts in sorted(assets.items())
    ]


def parse_totals(raw: Mapping[Any, Any]) -> dict[str, ProgramTotals]:
    sums: dict[str, dict[str, int]] = {}
    for name, value in raw.items():
        asset, account = _text(name).rsplit(TOTALS_SEPARATOR, 1)
        sums.setdefault(asset, {})[account] = int(_text(value))
    totals = {}
    for asset, by_account in sorted(sums.items()):
        held = by_account.get(HOLDS, 0)
        in_transit = by_account.get(TRANSIT, 0)
        totals[asset] = ProgramTotals(
            asset=asset,
            issued=-by_account.get(ISSUANCE, 0),
            redeemed=by_account.get(REDEMPTIONS, 0),
            expired=by_account.get(EXPIRED, 0),
            adjusted=-by_account.get(ADJUSTMENTS, 0),
            outstanding=by_account.get(CUSTOMERS, 0) + held + in_transit,
            held=held,
            in_transit=in_transit,
        )
    return totals


def parse_history(raw: list[Any], before_sequence: int | None, limit: int) -> list[HistoryEntry]:
    entries = (parse_history_entry(item) for item in raw)
    if before_sequence is not None:
        entries = (e for e in entries if e.sequence < before_sequence)
    return [e for _, e in zip(range(limit), entries, strict=False)]


def processed_at_ms(raw: Mapping[Any, Any]) -> int | None:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    value = fields.get(PROCESSED_AT_FIELD)
    return None if value is None else int(value)


class ReadModel:
    """Async reads of the live model (redis.asyncio), for the gateway."""

    def __init__(self, redis_client: redis.asyncio.Redis, key_prefix: str) -> None:
        self.redis = redis_client
        self.prefix = key_prefix
        # The live generation last seen. A read checks it in the same transaction (see
        # `_read`), so a stale one costs a retry, never a wrong answer; it changes only when
        # a replay swaps a new model in, and keeping it saves a round trip per read.
        self._generation: str | None = None

    async def generation(self) -> str | None:
        """Id of the live generation, None while no model exists."""
        value = await self.redis.get(live_pointer(self.prefix))
        self._generation = None if value is None else _text(value)
        return self._generation

    async def balances(self, program: str, account_id: str) -> list[BalanceView]:
        """Balances per asset, sorted by asset; [] for an account the model has never seen."""
        raw = await self._read(lambda keys, pipe: pipe.hgetall(keys.account(program, account_id)))
        return parse_balances(raw or {})

    async def processed_at(self, program: str, account_id: str) -> int | None:
        """When the last event this model holds for the account was decided (None: unseen)."""
        raw = await self._read(
            lambda keys, pipe: pipe.hget(keys.account(program, account_id), PROCESSED_AT_FIELD)
        )
        return None if raw is None else int(_text(raw))

    async def history(
        self, program: str, account_id: str, limit: int, before_sequence: int | None = None
    ) -> list[HistoryEntry]:
        """At most `limit` recent events, newest first; `before_sequence` pages backwards.

        Only the bounded recent history lives in Redis (LEDGER_MIRROR_HISTORY_MAX entries);
        older events are in the journal.
        """
        raw = await self._read(
            lambda keys, pipe: pipe.lrange(keys.history(program, account_id), 0, -1)
        )
        return parse_history(raw or [], before_sequence, limit)

    async def history_marked(
        self, program: str, account_id: str, channel: str, marker: str
    ) -> tuple[list[HistoryEntry], str]:
        """The account's whole kept history, newest first, read in one MULTI with a PUBLISH on
        `channel` of a marker: a subscriber of the channel knows that what it received before
        that marker is in this history and what comes after it is not. Returns the history and
        the marker published with it (`marker` plus the attempt: a generation swap repeats the
        MULTI, and only the last one's marker goes with the history returned)."""
        sent: list[str] = []

        def queue(keys: GenerationKeys, pipe: Any) -> None:
            sent.append(f"{marker}:{len(sent)}")
            pipe.publish(channel, sent[-1])
            pipe.lrange(keys.history(program, account_id), 0, -1)

        raw = await self._read(queue)
        return parse_history(raw or [], None, len(raw or [])), sent[-1] if sent else ""

    async def request_status(
        self, program: str, account_id: str, request_id: str
    ) -> RequestStatus | None:
        """The outcome of a request, None when unknown (not processed yet, or expired)."""
        raw = await self._read(
            lambda keys, pipe: pipe.get(keys.request(program, account_id, request_id))
        )
        return None if raw is None else parse_outcome(raw)

    async def totals(self, program: str) -> dict[str, ProgramTotals]:
        """Totals per asset of a program; {} for a program without events."""
        raw = await self._read(lambda keys, pipe: pipe.hgetall(keys.totals(program)))
        return parse_totals(raw or {})

    async def programs(self) -> list[str]:
        """Programs the model has seen events of, sorted."""
        raw = await self._read(lambda keys, pipe: pipe.smembers(keys.programs))
        return sorted(_text(p) for p in raw or ())

    async def offsets(self) -> dict[int, int]:
        """Journal partition -> offset of the last event the mirror applied."""
        raw = await self._read(lambda keys, pipe: pipe.hgetall(keys.offsets))
        return {int(_text(k)): int(_text(v)) for k, v in (raw or {}).items()}

    async def _read(self, queue: Callable[[GenerationKeys, Any], Any]) -> Any:
        """Reads under the live generation, and the live pointer in the same MULTI: the value
        counts only if the generation it was read from was live at that moment."""
        generation = self._generation or await self.generation()
        for _ in range(READ_ATTEMPTS_MAX):
            if generation is None:
                return None
            pipe = self.redis.pipeline(transaction=True)
            queue(GenerationKeys(self.prefix, generation), pipe)
            pipe.get(live_pointer(self.prefix))
            *values, live = await pipe.execute()
            value = values[-1]  # what the last queued command answered
            self._generation = None if live is None else _text(live)
            if self._generation == generation:
                return value
            generation = self._generation  # swapped (or lost) meanwhile: read the new one
        raise ModelChangedTooOften(f"{self.prefix}live changed {READ_ATTEMPTS_MAX} times")


class SyncReadModel:
    """The same reads with a blocking client (redis.Redis), for the command line and tests."""

    def __init__(self, redis_client: redis.Redis, key_prefix: str) -> None:
        self.redis = redis_client
        self.prefix = key_prefix

    def generation(self) -> str | None:
        value = self.redis.get(live_pointer(self.prefix))
        return None if value is None else _text(value)

    def balances(self, program: str, account_id: str) -> list[BalanceView]:
        raw = self._read(lambda keys, pipe: pipe.hgetall(keys.account(program, account_id)))
        return parse_balances(raw or {})

    def history(
        self, program: str, account_id: str, limit: int, before_sequence: int | None = None
    ) -> list[HistoryEntry]:
        raw = self._read(lambda keys, pipe: pipe.lrange(keys.history(program, account_id), 0, -1))
        return parse_history(raw or [], before_sequence, limit)

    def request_status(
        self, program: str, account_id: str, request_id: str
    ) -> RequestStatus | None:
        raw = self._read(lambda keys, pipe: pipe.get(keys.request(program, account_id, request_id)))
        return None if raw is None else parse_outcome(raw)

    def totals(self, program: str) -> dict[str, ProgramTotals]:
        raw = self._read(lambda keys, pipe: pipe.hgetall(keys.totals(program)))
        return parse_totals(raw or {})

    def totals_fields(self, program: str) -> dict[str, int]:
        """The raw sums of postings behind `totals`: `{asset}|{account}` -> amount."""
        raw = self._read(lambda keys, pipe: pipe.hgetall(keys.totals(program)))
        return {_text(k): int(_text(v)) for k, v in (raw or {}).items()}

    def accounts(self, program: str) -> list[str]:
        raw = self._read(lambda keys, pipe: pipe.smembers(keys.accounts(program)))
        return sorted(_text(a) for a in raw or ())

    def programs(self) -> list[str]:
        raw = self._read(lambda keys, pipe: pipe.smembers(keys.programs))
        return sorted(_text(p) for p in raw or ())

    def offsets(self) -> dict[int, int]:
        raw = self._read(lambda keys, pipe: pipe.hgetall(keys.offsets))
        return {int(_text(k)): int(_text(v)) for k, v in (raw or {}).items()}

    def totals_snapshot(self) -> TotalsSnapshot | None:
        """Offsets and totals in one MULTI/EXEC: the totals are exactly the sums of the journal
        up to those offsets, whatever the mirror does meanwhile. None: no model yet."""
        for _ in range(READ_ATTEMPTS_MAX):
            generation = self.generation()
            if generation is None:
                return None
            programs = self.programs()
            keys = GenerationKeys(self.prefix, generation)
            pipe = self.redis.pipeline(transaction=True)
            pipe.hgetall(keys.offsets)
            pipe.smembers(keys.programs)
            for program in programs:
                pipe.hgetall(keys.totals(program))
            pipe.get(live_pointer(self.prefix))
            offsets, members, *totals, still_live = pipe.execute()
            live = still_live is not None and _text(still_live) == generation
            if live and sorted(_text(m) for m in members) == programs:
                return TotalsSnapshot(
                    generation,
                    {int(_text(k)): int(_text(v)) for k, v in offsets.items()},
                    {
                        program: {_text(k): int(_text(v)) for k, v in fields.items()}
                        for program, fields in zip(programs, totals, strict=True)
                    },
                )
        raise ModelChangedTooOften(f"{self.prefix}live changed {READ_ATTEMPTS_MAX} times")

    def _read(self, queue: Callable[[GenerationKeys, Any], Any]) -> Any:
        for _ in range(READ_ATTEMPTS_MAX):
            generation = self.generation()
            if generation is None:
                return None
            pipe = self.redis.pipeline(transaction=True)
            queue(GenerationKeys(self.prefix, generation), pipe)
            pipe.get(live_pointer(self.prefix))
            value, still_live = pipe.execute()
            if still_live is not None and _text(still_live) == generation:
                return value
        raise ModelChangedTooOften(f"{self.prefix}live changed {READ_ATTEMPTS_MAX} times")
