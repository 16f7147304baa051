"""The read model's writer: the apply-events Lua script (lua/apply_events.lua), its arguments
and the typed view of its answer. The mirror, replays and heals write only through it.

The script is loaded with `register_script`, so it runs by EVALSHA and is re-sent only when
Redis forgot it (after a restart or SCRIPT FLUSH).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from typing import Any

import redis

from readmodel.keys import (
    ACTIVITY_TTL_S,
    FRESHNESS_BOUNDS_MS,
    OFFSETS_SUFFIX,
    PROGRAMS_SUFFIX,
    live_pointer,
    outcome_channel,
)

SCRIPT_SOURCE = files("readmodel").joinpath("lua/apply_events.lua").read_text()


class ApplyStatus(StrEnum):
    OK = "OK"
    NO_MODEL = "NO_MODEL"
    GAP = "GAP"


class Mode(StrEnum):
    MIRROR = "mirror"  # into the live generation, gap check, publish outcomes
    BUILD = "build"  # into a named generation (replay, heal): no check, no publishing


@dataclass(frozen=True, slots=True)
class ApplyResult:
    status: ApplyStatus
    generation: str
    stored_offset: int
    applied: int


@dataclass(frozen=True, slots=True)
class Batch:
    """Events of one journal partition, in offset order, ready for the script.

    `first_offset` is the offset of the first event, `last_offset` the last offset consumed
    (recorded as applied even when it is a transaction marker or when there are no events).
    """

    partition: int
    arguments: Sequence[str]
    first_offset: int
    last_offset: int


@dataclass(frozen=True, slots=True)
class WriterLimits:
    """What the script is told besides the batch: the deployment's key prefix, history entries
    kept per account, seconds a request's outcome stays readable."""

    key_prefix: str
    history_max: int
    status_ttl_s: int


def script_args(
    limits: WriterLimits,
    batch: Batch,
    mode: Mode,
    generation: str = "",
    vouched_generation: str = "",
    vouched_offset: int | None = None,
) -> list[Any]:
    prefix = limits.key_prefix
    return [
        prefix,
        generation,
        batch.partition,
        mode.value,
        vouched_generation,
        "" if vouched_offset is None else vouched_offset,
        batch.first_offset,
        batch.last_offset,
        limits.history_max,
        limits.status_ttl_s,
        live_pointer(prefix),
        outcome_channel(prefix),
        OFFSETS_SUFFIX,
        PROGRAMS_SUFFIX,
        ACTIVITY_TTL_S,
        ",".join(str(bound) for bound in FRESHNESS_BOUNDS_MS),
        *batch.arguments,
    ]


def parse_result(raw: Any) -> ApplyResult:
    status, generation, stored, applied = raw
    text = [v.decode() if isinstance(v, bytes) else v for v in (status, generation)]
    return ApplyResult(ApplyStatus(text[0]), str(text[1]), int(stored), int(applied))


class SyncApplier:
    """Runs the script (the mirror, replay, heal, tests)."""

    def __init__(self, client: redis.Redis, limits: WriterLimits) -> None:
        self.limits = limits
        self.script = client.register_script(SCRIPT_SOURCE)

    def apply(
        self,
        batch: Batch,
        mode: Mode,
        generation: str = "",
        vouched_generation: str = "",
        vouched_offset: int | None = None,
    ) -> ApplyResult:
        args = script_args(
            self.limits,
            batch,
            mode,
            generation=generation,
            vouched_generation=vouched_generation,
            vouched_offset=vouched_offset,
        )
        return parse_result(self.script(args=args))
