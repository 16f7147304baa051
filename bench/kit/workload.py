"""A seeded bench workload: encoded request records, and what the bench's model expects.

Requests go to `--accounts` customer accounts of one program and one asset, each produced to
the partition that owns its account (murmur2 of `program:account`, as every project producer
does), so per-account order is the production order and the model sees what the core sees.
A kind whose precondition is missing (a capture with no hold yet, a duplicate of nothing) is
sent as an accrue instead; `Workload.kinds` counts what was actually sent.

Long on purpose: `generate` draws the workload in one seeded pass, whose order the model's
expectations depend on.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from bench.kit.model import APPLIED, LedgerModel, ModelRequest, Outcome
from bench.kit.requests import PROGRAM, AccountHistory, RequestEncoder
from bench.mix import Mix
from schemas.contracts import WireContracts

__all__ = ["ASSET", "PROGRAM", "BenchRecord", "Workload", "generate", "outcome_label"]

ASSET = "points"  # config/programs.toml: clawback = "allow_negative", as the model assumes
AMOUNT_MAX = 2_000
PRINCIPAL = "bench"
ADJUST_REASON = "bench"


@dataclass(frozen=True, slots=True)
class BenchRecord:
    key: bytes
    value: bytes
    partition: int
    account: str
    request_id: str


@dataclass
class Workload:
    records: list[BenchRecord]
    model: LedgerModel
    kinds: Counter[str] = field(default_factory=Counter)
    expected_outcomes: Counter[str] = field(default_factory=Counter)  # "STATUS" or "STATUS:reason"

    @property
    def value_bytes_mean(self) -> int:
        return round(sum(len(r.value) for r in self.records) / max(len(self.records), 1))

    @property
    def key_bytes_mean(self) -> int:
        return round(sum(len(r.key) for r in self.records) / max(len(self.records), 1))


def generate(
    contracts: WireContracts,
    topic: str,
    partitions: int,
    requests: int,
    accounts: int,
    mix: Mix,
    seed: int,
    now_ms: int | None = None,
) -> Workload:
    rng = random.Random(seed)
    requested_at_ms = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    workload = Workload([], LedgerModel())
    kinds, cumulative = mix.kinds(), mix.cumulative()
    names = [f"u{n:07d}" for n in range(accounts)]
    sent = [AccountHistory(name) for name in names]
    keys = [account.key() for account in sent]
    owners = [account.owner(partitions) for account in sent]
    encode = RequestEncoder(contracts, topic, requested_at_ms, PRINCIPAL).encode

    def emit(n: int, kind: str, request: ModelRequest, value: bytes) -> None:
        outcome = workload.model.apply(request)
        workload.records.append(
            BenchRecord(keys[n], value, owners[n], names[n], request.request_id)
        )
        workload.kinds[kind] += 1
        workload.expected_outcomes[_label(outcome)] += 1
        if outcome.status == APPLIED:
            if request.operation == "HOLD":
                sent[n].holds.append(request)
            elif request.operation in ("ACCRUE", "REDEEM", "CAPTURE"):
                sent[n].reversible.append(request)

    for _ in range(requests):
        n = rng.randrange(accounts)
        account = sent[n]
        kind = rng.choices(kinds, cum_weights=cumulative)[0]
        if kind == "dup" and account.sent:
            original, value = rng.choice(account.sent)
            emit(n, kind, original, value)  # the very same bytes again
            continue
        if kind == "conflict" and account.sent:
            original, _ = rng.choice(account.sent)
            changed = replace(original, amount=original.amount + 1)
            emit(n, kind, changed, encode(changed))
            continue
        request = _fresh(rng, kind, account)
        if request is None:
            kind, request = "accrue", _request(account, "ACCRUE", _amount(rng))
        value = encode(request)
        account.sent.append((request, value))
        emit(n, kind, request, value)
    return workload


def _fresh(rng: random.Random, kind: str, account: AccountHistory) -> ModelRequest | None:
    """A new request of `kind`, or None when the account lacks what it needs."""
    if kind in ("accrue", "redeem", "hold"):
        return _request(account, kind.upper(), _amount(rng))
    if kind == "adjust":
        amount = _amount(rng) * rng.choice((1, -1))
        return _request(account, "ADJUST", amount, reason=ADJUST_REASON)
    if kind in ("capture", "release") and account.holds:
        hold = account.holds.pop(rng.randrange(len(account.holds)))
        # Sometimes more than held, so `capture_exceeds_hold` happens too.
        captured = rng.randint(1, hold.amount + 50) if kind == "capture" else 0
        return _request(account, kind.upper(), captured, reference=hold.request_id)
    if kind == "reverse" and account.reversible:
        original = rng.choice(account.reversible)
        amount = rng.randint(1, max(1, original.amount // 2 + 20))
        return _request(account, "REVERSE", amount, reference=original.request_id)
    return None


def _request(
    account: AccountHistory,
    operation: str,
    amount: int,
    reference: str | None = None,
    reason: str | None = None,
) -> ModelRequest:
    return ModelRequest(
        account.next_id(),
        account.name,
        operation,
        ASSET,
        amount,
        reference=reference,
        reason=reason,
    )


def _amount(rng: random.Random) -> int:
    return rng.randint(1, AMOUNT_MAX)


def _label(outcome: Outcome) -> str:
    return outcome_label(outcome.status, outcome.reason)


def outcome_label(status: str, reason: str | None) -> str:
    return status if reason is None else f"{status}:{reason}"
