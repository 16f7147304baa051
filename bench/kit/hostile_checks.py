"""The strict checks of a journal read back from Kafka against the hostile workload's model:
every outcome in order, every credit leg, sequences, postings against balances, and every
invariant of the books. (The benchmarks' lighter check, balances and outcome counts, is
`verify.py`.)"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from bench.kit.hostile import Workload
from ledger.evolve import evolve
from ledger.invariants import Books
from ledger.model import AccountState, Channel, LedgerEvent, Operation, Status

PROBLEMS_SHOWN = 20


def journal_problems(events: Sequence[LedgerEvent], workload: Workload) -> list[str]:
    """Everything wrong with the journal, as readable lines; empty means all is well."""
    problems: list[str] = []
    by_account: dict[str, list[LedgerEvent]] = defaultdict(list)
    for event in events:
        by_account[event.account_id].append(event)

    if len(events) != workload.expected_events:
        problems.append(f"{len(events)} events in the journal, expected {workload.expected_events}")

    problems += _outcome_problems(by_account, workload)

    credits = [
        e
        for e in events
        if e.request.operation is Operation.TRANSFER_CREDIT and e.channel is Channel.SYSTEM
    ]
    if len(credits) != workload.transfers_applied:
        problems.append(f"{len(credits)} credit legs, expected {workload.transfers_applied}")
    problems += [
        f"credit leg {e.request.request_id} was {e.status.value} {e.reason}"
        for e in credits
        if e.status is not Status.APPLIED
    ]

    applied = Counter((e.account_id, e.sequence) for e in events if e.status is Status.APPLIED)
    problems += [f"{k} applied {n} times" for k, n in applied.items() if n > 1]

    states: dict[str, AccountState] = {}
    for account, account_events in by_account.items():
        state: AccountState | None = None
        sequence = 0
        for event in account_events:
            if event.status is Status.APPLIED:
                sequence += 1
                if event.sequence != sequence:
                    problems.append(f"{account}: sequence {event.sequence}, expected {sequence}")
                    break
            before: AccountState | None = state
            state = evolve(state, event)
            problems += _postings_match_balances(before, state, event)
        if state is not None:
            states[account] = state

    for account, state in states.items():
        for asset, balance in state.balances.items():
            want = workload.model.balance(account, asset)
            if (balance.available, balance.held) != want:
                problems.append(
                    f"{account} {asset}: journal folds to {(balance.available, balance.held)}, "
                    f"model says {want}"
                )
    for account, model_account in workload.model.accounts.items():
        for asset, available in model_account.available.items():
            if available and asset not in states.get(account, _EMPTY).balances:
                problems.append(f"{account} {asset}: model has {available}, journal has none")

    problems += books_problems(events)
    return problems[:PROBLEMS_SHOWN] + (
        [f"... and {len(problems) - PROBLEMS_SHOWN} more"] if len(problems) > PROBLEMS_SHOWN else []
    )


_EMPTY = AccountState(program="", account_id="")


def _outcome_problems(by_account: dict[str, list[LedgerEvent]], workload: Workload) -> list[str]:
    """Each account's outcomes, in order, against the model's: the first that differs."""
    problems: list[str] = []
    for account, expected in workload.expected_by_account.items():
        got = [
            (e.request.request_id, e.status.value, e.reason.value if e.reason else None)
            for e in by_account.get(account, [])
        ]
        wanted = [(rid, o.status, o.reason) for rid, o in expected]
        if got != wanted:
            first = next(
                (i for i, (g, w) in enumerate(zip(got, wanted, strict=False)) if g != w),
                min(len(got), len(wanted)),
            )
            problems.append(
                f"{account}: outcome {first} is {got[first : first + 1]}, the model says "
                f"{wanted[first : first + 1]} ({len(got)} events, {len(wanted)} expected)"
            )
    return problems


def books_problems(events: Sequence[LedgerEvent]) -> list[str]:
    """Every invariant of ledger/invariants.py over the journal (trial balance, lots, holds,
    @holds, @transit), in the journal's order per account."""
    books = Books()
    problems = [problem for event in events for problem in books.add(event)]
    return problems + books.problems()


def _postings_match_balances(
    before: AccountState | None, after: AccountState, event: LedgerEvent
) -> list[str]:
    """The customer's own postings must move its available balance by exactly their sum."""
    if event.status is not Status.APPLIED:
        return []
    posted: Counter[str] = Counter()
    for posting in event.postings:
        if posting.account == event.account_id:
            posted[posting.asset] += posting.amount
    problems = []
    for asset in set(posted) | set(after.balances):
        old = before.balances[asset].available if before and asset in before.balances else 0
        new = after.balances[asset].available if asset in after.balances else 0
        if new - old != posted[asset]:
            problems.append(
                f"{event.event_id}: postings move {asset} by {posted[asset]}, "
                f"the balance moved by {new - old}"
            )
    return problems
