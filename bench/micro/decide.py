"""Micro-benchmark of decide(): decisions per second on one core (not a pytest test).

    .venv/bin/python -m bench.micro.decide [--decisions N] [--accounts N] [--seed N]

Mix: accrue 60 %, redeem 25 %, reverse 5 %, hold/capture 5 % (half each), duplicates 5 %,
spread over 100 000 accounts of the sample program. Requests are generated before the clock
starts; the timed loop is decide() plus the dict update a stream processor would do.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from pathlib import Path

from ledger.decide import decide
from ledger.model import AccountState, Operation, Request, Status
from settings.programs import load_programs

SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "programs.toml"
START_MS = 1_700_000_000_000


def make_requests(decisions: int, accounts: int, seed: int) -> list[tuple[Request, int]]:
    rng = random.Random(seed)
    last_accrual: dict[str, str] = {}
    last_hold: dict[str, str] = {}
    issued: list[Request] = []
    requests: list[tuple[Request, int]] = []
    for index in range(decisions):
        now = START_MS + index  # one request per millisecond of ledger time
        account = f"acct-{rng.randrange(accounts)}"
        roll = rng.random()
        request_id = f"req-{index}"
        if roll < 0.05 and issued:
            requests.append((issued[rng.randrange(max(0, len(issued) - 1000), len(issued))], now))
            continue
        if roll < 0.65:
            operation, amount, reference = Operation.ACCRUE, rng.randrange(10, 500), None
            last_accrual[account] = request_id
        elif roll < 0.90:
            operation, amount, reference = Operation.REDEEM, rng.randrange(1, 200), None
        elif roll < 0.95:
            reference = last_accrual.get(account)
            operation, amount = Operation.REVERSE, rng.randrange(1, 20)
            if reference is None:
                operation, amount = Operation.ACCRUE, 100
        elif roll < 0.975:
            operation, amount, reference = Operation.HOLD, rng.randrange(1, 50), None
            last_hold[account] = request_id
        else:
            operation, amount, reference = Operation.CAPTURE, 1, last_hold.pop(account, "none")
        request = Request(
            request_id=request_id,
            program="acme",
            account_id=account,
            operation=operation,
            asset="points",
            amount=amount,
            reference=reference,
            requested_at_ms=now,
            principal="bench",
        )
        issued.append(request)
        requests.append((request, now))
    return requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep CPython's default GC thresholds instead of the processor-like tuning",
    )
    args = parser.parse_args()
    programs = load_programs(SAMPLE_CONFIG)
    requests = make_requests(args.decisions, args.accounts, args.seed)
    if not args.default_gc:
        # The generated requests are setup, not workload: keep the collector from rescanning
        # them, and collect young objects less often, as a long-running processor would.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
    states: dict[str, AccountState] = {}
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for request, now in requests:
        key = request.account_id
        decision = decide(states.get(key), request, now, programs)
        states[key] = decision.state
        event = decision.event
        label = event.status.value if event.status is not Status.REJECTED else str(event.reason)
        outcomes[label] = outcomes.get(label, 0) + 1
    elapsed = time.perf_counter() - started
    print(f"{len(requests)} decisions over {len(states)} accounts in {elapsed:.2f} s")
    print(f"{len(requests) / elapsed:,.0f} decisions/s (one core, CPython)")
    print("outcomes:", ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))


if __name__ == "__main__":
    main()
