"""Where the read model lives in Redis: every key name, and the outcome channel's messages.

Every key starts with the deployment's prefix `P` (`LEDGER_REDIS_KEY_PREFIX`, default `rl:`).
The model itself lives in a *generation* `g`, so that a replay can build a whole new model
beside the live one and swap it in with one SET (readers never see a half-built model):

    P + "live"                              string  id of the live generation, e.g. "g1732-3f2a"
    P + g + ":acct:{program}:{account}"     hash    "{asset}.available", "{asset}.held" (ints),
                                                    "_sequence", "_processed_at_ms"
    P + g + ":hist:{program}:{account}"     list    newest first, JSON history entries (bounded)
    P + g + ":req:{program}:{account}:{request_id}"
                                            string  JSON outcome of the request (expires)
    P + g + ":totals:{program}"             hash    "{asset}|{@system account}" and
                                                    "{asset}|customers": sums of postings
    P + g + ":accounts:{program}"           set     account ids seen in the program
    P + g + ":programs"                     set     programs seen
    P + g + ":offsets"                      hash    journal partition -> last offset applied
    P + g + ":meta"                         hash    who built the generation and when
    P + "outcomes"                          pub/sub channel of request outcomes (JSON) no
                                            gateway process waits for
    P + "outcomes:{reply_to}"               pub/sub channel of one gateway process: the
                                            outcomes of the requests it produced
    P + "activity:{second}"                 hash    outcomes the mirror published in that
                                                    second of processing time, by
                                                    "{program}|{status}",
                                                    "{program}|reason|{reason}",
                                                    "{program}|op|{operation}" and
                                                    "{program}|fresh|{bound ms or inf}"
                                                    (request sent -> visible) (expires)
    P + "events:{program}:{account}"        pub/sub channel of one account: each history
                                            entry (JSON) as it becomes visible (the SSE
                                            stream of gateway/routes/events.py)
    P + "dashboard:lag:{slot}"              hash    "journal", "core": lag sampled in that
                                                    LAG_SAMPLE_S slot by a gateway (expires)
    P + "audit:last"                        string  JSON report of the last audit

`{program}`, `{account}` and `{request_id}` are written with `key_part`: `%` as `%25` and `:`
as `%3A`, so that no two (program, account, request) ever share a key, whatever the ids
contain (Kafka accepts any string; account `a:b` with request `c` and account `a` with request
`b:c` were one key before). Ids without either character read as they are.

Totals are decimal strings of any length (sums of postings can exceed 64 bits; the mirror adds
them exactly), never Redis integers.

Amounts are integers in minor units everywhere (Redis integers, JSON integers), never floats.

This module is the only place that spells a key: the mirror's Lua script receives every key
(or key suffix under the generation) it touches from here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import msgspec

from readmodel.errors import ReadModelError

# Compact JSON (no spaces), UTF-8 as is; a fifth of json.dumps's time on the mirror's path.
_JSON = msgspec.json.Encoder()

LIVE = "live"
OUTCOMES = "outcomes"
# Between the asset and the holder in a totals field: "points|@issuance", "points|customers".
TOTALS_SEPARATOR = "|"
AUDIT_LAST = "audit:last"
SEQUENCE_FIELD = "_sequence"
PROCESSED_AT_FIELD = "_processed_at_ms"
CUSTOMERS = "customers"
"""Totals field suffix summing the postings of customer (non-system) accounts."""


class MalformedOutcome(ReadModelError, ValueError):
    """A message on the outcome channel is not an outcome this version understands."""


def key_part(text: str) -> str:
    """An id as one unambiguous part of a key (module docstring)."""
    if "%" in text or ":" in text:
        return text.replace("%", "%25").replace(":", "%3A")
    return text


def account_suffix(program: str, account_id: str) -> str:
    return f"acct:{key_part(program)}:{key_part(account_id)}"


def history_suffix(program: str, account_id: str) -> str:
    return f"hist:{key_part(program)}:{key_part(account_id)}"


def request_suffix(program: str, account_id: str, request_id: str) -> str:
    return f"req:{key_part(program)}:{key_part(account_id)}:{key_part(request_id)}"


def totals_suffix(program: str) -> str:
    return f"totals:{key_part(program)}"


def accounts_suffix(program: str) -> str:
    return f"accounts:{key_part(program)}"


PROGRAMS_SUFFIX = "programs"
OFFSETS_SUFFIX = "offsets"
META_SUFFIX = "meta"


def live_pointer(prefix: str) -> str:
    return f"{prefix}{LIVE}"


def outcome_channel(prefix: str) -> str:
    """The pub/sub channel of the outcomes no gateway process waits for (requests other
    producers wrote, or whose gateway named no reply channel)."""
    return f"{prefix}{OUTCOMES}"


REPLY_TO_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a reply channel's name may be: anyone can write the header that carries it, so the
mirror ignores anything else (the outcome then goes to `outcome_channel`)."""


def reply_channel(prefix: str, reply_to: str) -> str:
    """The pub/sub channel of one gateway process (`reply_to`, from REPLY_TO_PATTERN)."""
    return f"{prefix}{OUTCOMES}:{reply_to}"


def valid_reply_to(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    text = raw.decode("ascii", errors="replace")
    return text if REPLY_TO_PATTERN.fullmatch(text) else None


SERIES_WINDOW_S = 900
"""What the dashboard's charts span: the last 15 minutes."""

ACTIVITY_TTL_S = SERIES_WINDOW_S + 60
"""Seconds a per-second activity counter (or a lag sample) is kept: the charts' window."""

LAG_SAMPLE_S = 10
"""One lag sample per this many seconds (`lag_sample_key`)."""

FRESHNESS_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
"""Upper bounds of the freshness buckets the mirror counts (anything slower: "inf")."""


def activity_suffix(second: int) -> str:
    """The counter of one second of processing time, under the prefix (not a generation)."""
    return f"activity:{second}"


def activity_key(prefix: str, second: int) -> str:
    return f"{prefix}{activity_suffix(second)}"


def activity_fields(program: str, operation: str, status: str, reason: str | None) -> list[str]:
    """The counters one outcome adds 1 to: its status, its operation, a rejection's reason.
    (Its freshness bucket is counted by the mirror's script, which knows when it is visible:
    the field is `freshness_field_prefix(program)` + the bucket's bound.)"""
    part, sep = key_part(program), TOTALS_SEPARATOR
    fields = [f"{part}{sep}{status}", f"{part}{sep}op{sep}{operation}"]
    if status == "REJECTED":
        fields.append(f"{part}{sep}reason{sep}{reason}")
    return fields


def freshness_field_prefix(program: str) -> str:
    return f"{key_part(program)}{TOTALS_SEPARATOR}fresh{TOTALS_SEPARATOR}"


ACTIVITY_KINDS = ("reason", "op", "fresh")


def parse_activity_field(field: str) -> tuple[str, str, str] | None:
    """(program, kind, value): kind "status", "reason", "op" or "fresh" (value: a bound in ms
    or "inf"); None for anything else. The program comes back as `key_part` wrote it: compare
    with `key_part(program)`."""
    parts = field.split(TOTALS_SEPARATOR)
    if len(parts) == 2:
        return parts[0], "status", parts[1]
    if len(parts) == 3 and parts[1] in ACTIVITY_KINDS:
        return parts[0], parts[1], parts[2]
    return None


def account_events_suffix(program: str, account: str) -> str:
    """The account's event channel, under the prefix (not a generation: it outlives swaps)."""
    return f"events:{key_part(program)}:{key_part(account)}"


def account_events_channel(prefix: str, program: str, account: str) -> str:
    return f"{prefix}{account_events_suffix(program, account)}"


def lag_sample_key(prefix: str, slot: int) -> str:
    """The lag sampled in slot `slot` (seconds since the epoch // LAG_SAMPLE_S)."""
    return f"{prefix}dashboard:lag:{slot}"


def copy_freshness_key(prefix: str) -> str:
    """A copied journal's model (prefix `<prefix>@<region>:`): JSON {"event_ms", "applied_ms"},
    the decision time of the last event applied and when it was applied here."""
    return f"{prefix}copy:freshness"


def copy_link_key(prefix: str) -> str:
    """A copied journal's link (prefix `<prefix>@<region>:`): JSON {"heartbeat_ms"}, when the
    newest MirrorMaker 2 heartbeat from that region read here was emitted there."""
    return f"{prefix}copy:link"


def audit_last(prefix: str) -> str:
    return f"{prefix}{AUDIT_LAST}"


@dataclass(frozen=True, slots=True)
class GenerationKeys:
    """Key names inside one generation of the model."""

    prefix: str
    generation: str

    @property
    def base(self) -> str:
        return f"{self.prefix}{self.generation}:"

    def account(self, program: str, account_id: str) -> str:
        return self.base + account_suffix(program, account_id)

    def history(self, program: str, account_id: str) -> str:
        return self.base + history_suffix(program, account_id)

    def request(self, program: str, account_id: str, request_id: str) -> str:
        return self.base + request_suffix(program, account_id, request_id)

    def totals(self, program: str) -> str:
        return self.base + totals_suffix(program)

    def accounts(self, program: str) -> str:
        return self.base + accounts_suffix(program)

    @property
    def programs(self) -> str:
        return self.base + PROGRAMS_SUFFIX

    @property
    def offsets(self) -> str:
        return self.base + OFFSETS_SUFFIX

    @property
    def meta(self) -> str:
        return self.base + META_SUFFIX

    @property
    def pattern(self) -> str:
        """SCAN pattern matching every key of this generation (to delete it)."""
        return f"{self.base}*"


def balance_field(asset: str, part: str) -> str:
    """`part` is "available" or "held"."""
    return f"{asset}.{part}"


@dataclass(frozen=True, slots=True)
class BalanceAfter:
    asset: str
    available: int
    held: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one request; published on the outcome channel and stored per request.

    `status` is APPLIED, REJECTED or DUPLICATE; `reason` a reason code of docs/domain.md when
    REJECTED. `balances` are the balances after the event for the assets it touched (empty
    for REJECTED and DUPLICATE: nothing changed). A DUPLICATE names the event that applied
    the request first in `original_sequence`.
    """

    program: str
    account_id: str
    request_id: str
    status: str
    reason: str | None
    sequence: int
    event_id: str
    operation: str
    balances: tuple[BalanceAfter, ...]
    processed_at_ms: int
    original_sequence: int | None = None


RequestStatus = Outcome
"""A request's stored status is exactly the outcome message that was published for it."""


def outcome_to_json(outcome: Outcome) -> str:
    return _JSON.encode(
        {
            "program": outcome.program,
            "account_id": outcome.account_id,
            "request_id": outcome.request_id,
            "status": outcome.status,
            "reason": outcome.reason,
            "sequence": outcome.sequence,
            "event_id": outcome.event_id,
            "operation": outcome.operation,
            "balances": [
                {"asset": b.asset, "available": b.available, "held": b.held}
                for b in outcome.balances
            ],
            "processed_at_ms": outcome.processed_at_ms,
            "original_sequence": outcome.original_sequence,
        }
    ).decode()


def parse_outcome(message: str | bytes) -> Outcome:
    """The `Outcome` in one outcome-channel message (or stored request status).

    Raises `MalformedOutcome` when the message is not JSON of the documented shape.
    """
    try:
        data: Any = json.loads(message)
        return Outcome(
            program=str(data["program"]),
            account_id=str(data["account_id"]),
            request_id=str(data["request_id"]),
            status=str(data["status"]),
            reason=None if data["reason"] is None else str(data["reason"]),
            sequence=_int(data["sequence"]),
            event_id=str(data["event_id"]),
            operation=str(data["operation"]),
            balances=tuple(
                BalanceAfter(str(b["asset"]), _int(b["available"]), _int(b["held"]))
                for b in data["balances"]
            ),
            processed_at_ms=_int(data["processed_at_ms"]),
            original_sequence=(
                None if data.get("original_sequence") is None else _int(data["original_sequence"])
            ),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise MalformedOutcome(f"not an outcome message: {error!r}") from error


def _int(value: Any) -> int:
    # bool is an int subclass and a float would hide a rounding: both are malformed here.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value
