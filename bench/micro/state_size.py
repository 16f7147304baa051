"""How large an account's state grows, and what restoring many accounts costs.

1. One account, a simulated year of `--per-day` operations a day (accruals, redemptions,
   holds with captures and releases, reversals, transfers, duplicates; expiry timers run
   every day), decided by the pure domain with config/programs.toml. Prints, at the end and
   at its largest over the year: the state record the core writes to its changelog (balances,
   lots, holds), the number of lots, and the receipts and reversal records it keeps one per
   record in their own topics. Once with the configured lot expiry granularity (a day for
   points) and once with expiries to the millisecond, to show what merging lots by expiry does.
2. `--accounts` accounts, each with a month of `--restore-per-day` operations a day (a busy
   member), written to fresh topics on the local broker (state, receipts, reversal records)
   and restored as the core does on assignment: accounts/s, records/s and the memory each
   restored account takes.

    .venv/bin/python -m bench.micro.state_size --per-day 100 --accounts 5000 --restore-per-day 3

Needs the local stack for part 2 (`make setup` or `ledger services up`); `--no-restore`
skips it. Prints figures; asserts none.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
import tracemalloc
import uuid
from dataclasses import replace

import msgspec
from confluent_kafka.admin import AdminClient

from ledger.decide import decide
from ledger.idempotency import remembers
from ledger.model import AccountState, Channel, Operation, Request, Status
from ledger.programs import Program, Programs
from ledger.timers import due_timers
from processors.core.changelog import owned, restore_partitions
from processors.core.rebuild import write_changelog
from processors.topics import delete_topics, ensure_topics, ledger_topics
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings
from settings.programs import load_programs

DAY_MS = 86_400_000
START_MS = 1_790_000_000_000
KIB = 1024
MIX = (
    ("accrue", 55),
    ("redeem", 20),
    ("hold", 6),
    ("capture", 4),
    ("release", 2),
    ("reverse", 5),
    ("transfer", 3),
    ("duplicate", 5),
)


class Simulation:
    """One account's life, decided request by request like the core decides them."""

    def __init__(self, programs: Programs, seed: int, account: str = "member") -> None:
        self.programs = programs
        self.rng = random.Random(seed)
        self.account = account
        self.state: AccountState | None = None
        self.sent: list[Request] = []
        self.holds: list[str] = []
        self.reversible: list[tuple[str, int]] = []
        self.counter = 0
        self.largest = (0, 0)  # (state record bytes, lots) at the largest

    def request(self, now: int, operation: Operation, amount: int, **extra: object) -> Request:
        self.counter += 1
        return Request(
            request_id=f"{uuid.UUID(int=self.rng.getrandbits(128))}",
            program="acme",
            account_id=self.account,
            operation=operation,
            asset="points",
            amount=amount,
            requested_at_ms=now,
            principal="bench",
            **extra,  # type: ignore[arg-type]
        )

    def submit(self, request: Request, now: int, channel: Channel = Channel.PUBLIC) -> None:
        decision = decide(self.state, request, now, self.programs, channel)
        if remembers(decision.event):
            self.state = decision.state
        if decision.event.status is not Status.APPLIED:
            return
        self.sent.append(request)
        if request.operation is Operation.HOLD:
            self.holds.append(request.request_id)
        if request.operation in (Operation.ACCRUE, Operation.REDEEM, Operation.CAPTURE):
            self.reversible.append((request.request_id, request.amount))

    def one_operation(self, now: int) -> None:
        kind = self.rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        amount = self.rng.randint(1, 500)
        if kind == "redeem":
            self.submit(self.request(now, Operation.REDEEM, amount), now)
        elif kind == "hold":
            self.submit(self.request(now, Operation.HOLD, amount), now)
        elif kind in ("capture", "release") and self.holds:
            hold = self.holds.pop(self.rng.randrange(len(self.holds)))
            if kind == "capture":
                self.submit(self.request(now, Operation.CAPTURE, amount, reference=hold), now)
            else:
                self.submit(self.request(now, Operation.RELEASE, 0, reference=hold), now)
        elif kind == "reverse" and self.reversible:
            original, original_amount = self.rng.choice(self.reversible)
            part = self.rng.randint(1, max(1, original_amount // 2))
            self.submit(self.request(now, Operation.REVERSE, part, reference=original), now)
        elif kind == "transfer":
            request = self.request(now, Operation.TRANSFER, amount, counterparty_account_id="peer")
            self.submit(request, now)
        elif kind == "duplicate" and self.sent:
            self.submit(
                msgspec.structs.replace(self.rng.choice(self.sent[-200:]), requested_at_ms=now), now
            )
        else:
            self.submit(self.request(now, Operation.ACCRUE, amount), now)

    def run_timers(self, now: int) -> None:
        if self.state is not None:
            for timer in due_timers(self.state, now, self.programs):
                self.submit(timer, now, Channel.SYSTEM)

    def live(self, days: int, per_day: int, contracts: WireContracts, measure: bool) -> None:
        for day in range(days):
            base = START_MS + day * DAY_MS
            for n in range(per_day):
                now = base + (n * DAY_MS) // per_day
                self.one_operation(now)
                self.run_timers(now)
            if measure and self.state is not None:
                size = state_bytes(self.state, contracts)
                if size > self.largest[0]:
                    self.largest = (size, lots(self.state))


def state_bytes(state: AccountState, contracts: WireContracts) -> int:
    return len(contracts.encode_state(state, "bench.state", memory=False))


def lots(state: AccountState) -> int:
    return sum(len(items) for items in state.lots.values())


def memory_bytes(state: AccountState, contracts: WireContracts) -> tuple[int, int]:
    receipts = sum(
        len(contracts.encode_receipt(state.program, state.account_id, r, "bench.receipts"))
        for r in state.receipts.values()
    )
    reversibles = sum(
        len(contracts.encode_reversible(state.program, state.account_id, r, "bench.reversibles"))
        for r in state.reversibles.values()
    )
    return receipts, reversibles


def without_granularity(programs: Programs) -> dict[str, Program]:
    return {
        name: replace(
            program,
            assets={
                code: replace(asset, lot_expiry_granularity_ms=None)
                for code, asset in program.assets.items()
            },
        )
        for name, program in programs.items()
    }


def year(programs: Programs, contracts: WireContracts, per_day: int, seed: int, label: str) -> None:
    simulation = Simulation(programs, seed)
    started = time.perf_counter()
    simulation.live(365, per_day, contracts, measure=True)
    seconds = time.perf_counter() - started
    state = simulation.state
    assert state is not None
    receipts, reversibles = memory_bytes(state, contracts)
    largest, largest_lots = simulation.largest
    print(
        f"{label:>28}: state record {state_bytes(state, contracts) / KIB:7.1f} KiB "
        f"({lots(state)} lots, {len(state.holds)} open holds), largest over the year "
        f"{largest / KIB:7.1f} KiB ({largest_lots} lots); kept one per record: "
        f"{len(state.receipts):,} receipts ({receipts / KIB:.0f} KiB), "
        f"{len(state.reversibles):,} reversal records ({reversibles / KIB:.0f} KiB); "
        f"{simulation.counter:,} requests decided in {seconds:.1f} s"
    )


def restore(
    settings: Settings, programs: Programs, contracts: WireContracts, accounts: int, per_day: int
) -> None:
    prefix = f"bench-state-{uuid.uuid4().hex[:6]}."
    settings = replace(settings, topic_prefix=prefix, partitions=4)
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    try:
        states: dict[int, dict[bytes, AccountState]] = {p: {} for p in range(settings.partitions)}
        template = Simulation(programs, 7)
        template.live(30, per_day, contracts, measure=False)
        assert template.state is not None
        for n in range(accounts):
            name = f"m{n}"
            state = msgspec.structs.replace(template.state, account_id=name)
            key = account_key("acme", name)
            states[partition_for(key, settings.partitions)][key] = state
        written_started = time.perf_counter()
        records = write_changelog(settings, contracts, states)
        written = time.perf_counter() - written_started
        gc.collect()
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        stores = owned(range(settings.partitions))
        report = restore_partitions(settings, contracts, stores, 600)
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        restored = sum(len(store) for store in stores.values())
        print(
            f"{'restore':>28}: {restored:,} accounts (a month of {per_day}/day each: "
            f"{records / accounts:.0f} records per account, written in {written:.1f} s) in "
            f"{report.seconds:.1f} s = {restored / report.seconds:,.0f} accounts/s, "
            f"{report.records / report.seconds:,.0f} records/s; "
            f"{(after - before) / restored / KIB:.1f} KiB of memory per account"
        )
    finally:
        delete_topics(
            admin,
            [name for name in admin.list_topics(timeout=30).topics if name.startswith(prefix)],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-day", type=int, default=100, help="operations a day (default 100)")
    parser.add_argument("--accounts", type=int, default=5_000, help="accounts to restore")
    parser.add_argument(
        "--restore-per-day", type=int, default=3, help="operations a day of restored accounts"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-restore", action="store_true", help="skip the broker part")
    args = parser.parse_args()
    settings = Settings.from_env(os.environ)
    programs = load_programs(settings.programs_config)
    contracts = WireContracts.for_registry(None)
    print(f"one account, a year of {args.per_day} operations a day (goal: state record <= 16 KiB)")
    year(programs, contracts, args.per_day, args.seed, "expiry granularity 1 day")
    year(without_granularity(programs), contracts, args.per_day, args.seed, "expiries to the ms")
    if not args.no_restore:
        restore(settings, programs, contracts, args.accounts, args.restore_per_day)


if __name__ == "__main__":
    main()
