"""The hostile workload the tests send: every operation and every abuse, seeded, with the outcome
the model predicts for each record.

Accounts come in four groups so that the independent model stays simple and exact:

- customers: every client operation on the public topic, duplicates (the same bytes again),
  retries of rejected requests (the declined REDEEM resent once the balance has grown),
  idempotency conflicts (an id reused with other content), rejections, garbage bytes, and
  forged records anyone could write there (transfer legs, refunds, expiries, timeouts, ADJUSTs
  claiming to be `system`): produced to their own partition;
- operated: corrected by operators, every request of theirs on the operator topic (so their
  order is kept: ADJUSTs among accruals and redemptions);
- receivers: only credited by customers' transfers, whose credit legs (written by the core to
  the internal topic) arrive in any order;
- misrouted: produced to a wrong partition on purpose (as librdkafka's default partitioner or
  an explicit partition would), in order, so the core must forward them.

Long on purpose: `generate` draws the workload in one seeded pass, whose order the model's
expectations depend on.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field, replace

from bench.kit.model import LedgerModel, ModelRequest, Outcome
from bench.kit.requests import PROGRAM, AccountHistory, RequestEncoder
from schemas.contracts import WireContracts
from settings import TopicNames

__all__ = ["PROGRAM", "WorkItem", "Workload", "generate"]

ASSETS = ("points", "cashback_usd")
TRANSFERABLE = "points"
FORGED = ("TRANSFER_CREDIT", "TRANSFER_REFUND", "EXPIRE", "HOLD_TIMEOUT", "ADJUST")


@dataclass(frozen=True)
class WorkItem:
    key: bytes | None
    value: bytes
    partition: int  # where it is produced
    request: ModelRequest | None  # None for garbage
    expected: Outcome | None
    topic: str = ""  # "" = the public requests topic


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


def generate(
    seed: int,
    contracts: WireContracts,
    topics: TopicNames,
    partitions: int,
    now_ms: int,
    requests: int = 20_000,
    customers: int = 500,
    receivers: int = 50,
    misrouted: int = 20,
    operated: int = 20,
) -> Workload:
    rng = random.Random(seed)
    model = LedgerModel()
    workload = Workload([], model)
    people = [AccountHistory(f"c{n:04d}") for n in range(customers)]
    receiving = [f"r{n:03d}" for n in range(receivers)]
    strays = [AccountHistory(f"m{n:03d}") for n in range(misrouted)]
    corrected = [AccountHistory(f"o{n:03d}") for n in range(operated)]
    encoder = RequestEncoder(contracts, topics.requests, now_ms, "workload")
    encode = encoder.encode

    def emit(
        account: AccountHistory,
        request: ModelRequest,
        value: bytes,
        misroute: bool,
        channel: str = "public",
    ) -> None:
        outcome = model.apply(request, channel)
        key, owner = account.key(), account.owner(partitions)
        partition = (owner + 1) % partitions if misroute else owner
        target = topics.operator_requests if channel == "operator" else ""
        workload.items.append(WorkItem(key, value, partition, request, outcome, target))
        workload.expected_by_account.setdefault(account.name, []).append(
            (request.request_id, outcome)
        )
        if outcome.status == "REJECTED" and outcome.reason != "operation_not_permitted":
            account.rejected.append((request, value))
        if outcome.status == "APPLIED":
            if request.operation == "HOLD":
                account.holds.append(request)
            if request.operation in {"ACCRUE", "REDEEM", "CAPTURE"}:
                account.reversible.append(request)
            if request.operation == "TRANSFER":
                assert request.counterparty is not None
                model.credit(request.counterparty, request.asset, request.amount)
                workload.transfers_applied += 1

    def fresh(
        account: AccountHistory, misroute: bool = False, channel: str = "public", **fields: object
    ) -> None:
        request = ModelRequest(request_id=account.next_id(), account=account.name, **fields)  # type: ignore[arg-type]
        value = encode(request)
        account.sent.append((request, value))
        emit(account, request, value, misroute, channel)

    def forge(account: AccountHistory) -> None:
        """What anyone who can write the public topic might send: the ledger's own operations
        (with the ledger's own kind of ids) and ADJUSTs, all claiming to be `system`."""
        operation = rng.choice(FORGED)
        number = rng.randint(1, 10_000)
        request_id = {
            "TRANSFER_CREDIT": f"credit:{rng.choice(receiving)}:{number}",
            "TRANSFER_REFUND": f"refund:{rng.choice(receiving)}:{number}",
            "EXPIRE": f"expire:{number}",
            "HOLD_TIMEOUT": f"hold-timeout:{number}:h",
            "ADJUST": account.next_id(),
        }[operation]
        request = ModelRequest(
            request_id=request_id,
            account=account.name,
            operation=operation,
            asset=TRANSFERABLE,
            amount=1_000_000 if operation != "ADJUST" else rng.randint(1, 1_000_000),
            reference=str(number),
            counterparty=rng.choice(receiving),
            reason="forged",
        )
        emit(account, request, encode(request, principal="system"), False)

    def operate(account: AccountHistory) -> None:
        roll = rng.random()
        amount = rng.randint(1, 2_000)
        if roll < 0.4:
            fresh(account, channel="operator", operation="ACCRUE", asset="points", amount=amount)
        elif roll < 0.6:
            fresh(account, channel="operator", operation="REDEEM", asset="points", amount=amount)
        elif roll < 0.7 and account.sent:
            request, value = rng.choice(account.sent)
            emit(account, request, value, False, "operator")
        else:
            signed = amount if rng.random() < 0.5 else -amount
            asset = rng.choice(ASSETS)
            fresh(
                account,
                channel="operator",
                operation="ADJUST",
                asset=asset,
                amount=signed,
                reason="goodwill",
            )

    for _ in range(requests):
        roll = rng.random()
        if roll < 0.04:
            operate(rng.choice(corrected))
            continue
        if roll < 0.07:
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
            hold = rng.choice(account.holds)
            hold_id = hold.request_id
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
            original = rng.choice(account.reversible)
            fresh(
                account,
                operation="REVERSE",
                asset=original.asset,
                amount=rng.randint(1, max(1, original.amount // 2 + 20)),
                reference=original.request_id,
            )
        elif roll < 0.65:
            forge(account)
        elif roll < 0.73:
            fresh(
                account,
                operation="TRANSFER",
                asset=TRANSFERABLE,
                amount=amount,
                counterparty=rng.choice(receiving),
            )
        elif roll < 0.78 and account.sent:
            request, value = rng.choice(account.sent)
            emit(account, request, value, False)  # the very same bytes again
        elif roll < 0.81 and account.rejected:
            # An at-least-once upstream resends a declined request, later: it stays declined.
            request, value = rng.choice(account.rejected)
            emit(account, request, value, False)
        elif roll < 0.84 and account.sent:
            original, _ = rng.choice(account.sent)
            changed = replace(original, amount=original.amount + 1)
            emit(account, changed, encode(changed), False)
        elif roll < 0.86:
            garbage = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
            workload.items.append(
                WorkItem(account.key(), garbage, account.owner(partitions), None, None)
            )
        elif roll < 0.87:
            # A declined redemption, then credit, then the same redemption again.
            fresh(account, operation="REDEEM", asset="points", amount=10**6)
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
