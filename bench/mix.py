"""What a bench workload is made of: request kinds and their weights, parsed from `--mix`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.errors import BenchError

KINDS = ("accrue", "redeem", "hold", "capture", "release", "reverse", "adjust", "dup", "conflict")
"""Request kinds the workload can generate.

`dup` resends the very bytes of an earlier request (the ledger answers DUPLICATE of the first
outcome, applied or rejected), `conflict` reuses an earlier request id with another amount
(`idempotency_conflict`). `adjust` sends an ADJUST to the public topic, which the ledger
refuses (`operation_not_permitted`: only the operator topic may carry it). The rest are
operations of docs/domain.md on one asset.
"""

DEFAULT_MIX = "accrue=55,redeem=20,hold=6,capture=4,release=2,reverse=5,dup=5,conflict=3"


class MixError(BenchError, ValueError):
    """`--mix` cannot be understood; the message says why."""


@dataclass(frozen=True)
class Mix:
    weights: Mapping[str, int]

    @classmethod
    def parse(cls, text: str) -> Mix:
        weights: dict[str, int] = {}
        for part in text.split(","):
            name, sep, raw = part.strip().partition("=")
            name = name.strip().lower()
            if not sep or name not in KINDS:
                raise MixError(f"mix entry {part!r}: expected KIND=WEIGHT, KIND one of {KINDS}")
            try:
                weight = int(raw)
            except ValueError:
                raise MixError(f"mix entry {part!r}: weight must be an integer") from None
            if weight < 0:
                raise MixError(f"mix entry {part!r}: weight must not be negative")
            weights[name] = weights.get(name, 0) + weight
        if sum(weights.values()) <= 0:
            raise MixError("mix weights add up to nothing")
        return cls(weights)

    def kinds(self) -> list[str]:
        return [kind for kind in KINDS if self.weights.get(kind, 0) > 0]

    def cumulative(self) -> list[int]:
        """Running sums of the weights of `kinds()`, for `random.choices(cum_weights=...)`."""
        total = 0
        sums = []
        for kind in self.kinds():
            total += self.weights[kind]
            sums.append(total)
        return sums

    def __str__(self) -> str:
        return ",".join(f"{kind}={self.weights[kind]}" for kind in self.kinds())
