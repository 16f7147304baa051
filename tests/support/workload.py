"""A seeded random workload of request records, with the outcome the model predicts for each.

Accounts come in three groups so that the independent model stays simple and exact:

- customers: every operation, duplicates (the same bytes again), idempotency conflicts (an
  id reused with other content), rejections, garbage bytes; produced to their own partition;
- receivers: only credited by customers' transfers, whose credit legs arrive in any order;
- misrouted: produced to a wrong partition on purpose (as librdkafka's default partitioner or
  an explicit partition would), in order, so the core must forward them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from ledger.model import Operation, Request
from processors.core.routing import account_key, partition_for
from schemas.contracts import WireContracts
from tests.support.model import LedgerModel, ModelRequest, Outcome

PROGRAM = "acme"
ASSETS = ("points", "cashback_usd")
TRANSFERABLE = "points"


@dataclass(frozen=True)
class WorkItem:
    key: bytes | None
    value: bytes
    partition: int  # where it is produced
    request: ModelRequest | None  # None for garbage
    expected: Outcome | None


@dataclass
class Workload:
    items: list[WorkItem]
    model: LedgerModel
    transfers_applied: int = 0
    expected_by_account: dict[str, list[tuple[str, Outcome]]] = field(default_factory=dict)

    @property
    def garbage(self) -> int:
        return sum(1 for item in self.items if item.request is None)

    @property
    def expected_events(self) -> int:
        """One event per decodable record, plus one per transfer credit leg."""
        return len(self.items) - self.garbage + self.transfers_applied


class _Account:
    def __init__(self, name: str) -> None:
        self.name = name
        self.counter = 0
        self.sent: list[tuple[ModelRequest, bytes]] = []
        self.holds: list[str] = []
        self.reversible: list[tuple[str, str, int]] = []  # id, asset, amount

    def next_id(self) -> str:
        self.counter += 1
        return f"{self.name}-{self.counter}"


def generate(
    seed: int,
    contracts: WireContracts,
    topic: str,
    partitions: int,
    now_ms: int,
    requests: int = 20_000,
    customers: int = 500,
    receivers: int = 50,
    misrouted: int = 20,
) -> Workload:
    rng = random.Random(seed)
    model = LedgerModel()
    workload = Workload([], model)
    people = [_Account(f"c{n:04d}") for n in range(customers)]
    receiving = [f"r{n:03d}" for n in range(receivers)]
    strays = [_Account(f"m{n:03d}") for n in range(misrouted)]

    def emit(account: _Account, request: ModelRequest, value: bytes, misroute: bool) -> None:
        outcome = model.apply(request)
        key = account_key(PROGRAM, account.name)
        owner = partition_for(key, partitions)
        partition = (owner + 1) % partitions if misroute else owner
        workload.items.append(WorkItem(key, value, partition, request, outcome))
        workload.expected_by_account.setdefault(account.name, []).append(
            (request.request_id, outcome)
        )
        if outcome.status == "APPLIED":
            if request.operation == "HOLD":
                account.holds.append(request.request_id)
            if request.operation in {"ACCRUE", "REDEEM", "CAPTURE"}:
                account.reversible.append((request.request_id, request.asset, request.amount))
            if request.operation == "TRANSFER":
                assert request.counterparty is not None
                model.credit(request.counterparty, request.asset, request.amount)
                workload.transfers_applied += 1

    def encode(request: ModelRequest) -> bytes:
        return contracts.encode_request(
            Request(
                request_id=request.request_id,
                program=PROGRAM,
                account_id=request.account,
                operation=Operation(request.operation),
                asset=request.asset,
                amount=request.amount,
                reference=request.reference,
                counterparty_account_id=request.counterparty,
                reason=request.reason,
                requested_at_ms=now_ms,
                principal="workload",
            ),
            topic,
        )

    def fresh(account: _Account, misroute: bool = False, **fields: object) -> None:
        request = ModelRequest(request_id=account.next_id(), account=account.name, **fields)  # type: ignore[arg-type]
        value = encode(request)
        account.sent.append((request, value))
        emit(account, request, value, misroute)

    for _ in range(requests):
        roll = rng.random()
        if roll < 0.03:
            stray = rng.choice(strays)
            op = "ACCRUE" if rng.random() < 0.6 else "REDEEM"
            fresh(stray, misroute=True, operation=op, asset="points", amount=rng.randint(1, 500))
            continue
        account = rng.choice(people)
        asset = rng.choice(ASSETS)
        amount = rng.randint(1, 2_000)
        if roll < 0.30:
            fresh(account, operation="ACCRUE", asset=asset, amount=amount)
        elif roll < 0.42:
            fresh(account, operation="REDEEM", asset=asset, amount=amount)
        elif roll < 0.48:
            fresh(account, operation="HOLD", asset=asset, amount=amount)
        elif roll < 0.54 and account.holds:
            hold_id = rng.choice(account.holds)
            hold = next(r for r, _ in account.sent if r.request_id == hold_id)
            if rng.random() < 0.6:
                captured = rng.randint(1, hold.amount + 50)  # sometimes more than held
                fresh(
                    account,
                    operation="CAPTURE",
                    asset=hold.asset,
                    amount=captured,
                    reference=hold_id,
                )
            else:
                fresh(account, operation="RELEASE", asset=hold.asset, reference=hold_id)
        elif roll < 0.61 and account.reversible:
            ref, ref_asset, ref_amount = rng.choice(account.reversible)
            fresh(
                account,
                operation="REVERSE",
                asset=ref_asset,
                amount=rng.randint(1, max(1, ref_amount // 2 + 20)),
                reference=ref,
            )
        elif roll < 0.65:
            signed = amount if rng.random() < 0.5 else -amount
            fresh(account, operation="ADJUST", asset=asset, amount=signed, reason="goodwill")
        elif roll < 0.73:
            fresh(
                account,
                operation="TRANSFER",
                asset=TRANSFERABLE,
                amount=amount,
                counterparty=rng.choice(receiving),
            )
        elif roll < 0.81 and account.sent:
            request, value = rng.choice(account.sent)
            emit(account, request, value, False)  # the very same bytes again
        elif roll < 0.84 and account.sent:
            original, _ = rng.choice(account.sent)
            changed = ModelRequest(
                original.request_id,
                original.account,
                original.operation,
                original.asset,
                original.amount + 1,
                original.reference,
                original.counterparty,
                original.reason,
            )
            emit(account, changed, encode(changed), False)
        elif roll < 0.86:
            key = account_key(PROGRAM, account.name)
            garbage = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
            workload.items.append(
                WorkItem(key, garbage, partition_for(key, partitions), None, None)
            )
        elif roll < 0.88:
            fresh(account, operation="ACCRUE", asset=asset, amount=0)  # a rejection
        else:
            # Also where a branch above lacked what it needed (no hold, nothing to reverse).
            fresh(account, operation="ACCRUE", asset=asset, amount=amount)
    return workload


def outcomes_by_account(workload: Workload) -> dict[str, list[tuple[str, Outcome]]]:
    grouped: dict[str, list[tuple[str, Outcome]]] = defaultdict(list)
    for name, outcomes in workload.expected_by_account.items():
        grouped[name].extend(outcomes)
    return grouped
