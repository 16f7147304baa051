"""A read model in Redis against the fold of its journal: accounts and program totals."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from processors.readside.fold import JournalFold
from readmodel.reader import SyncReadModel, TotalsSnapshot

BEHIND_POLL_S = 0.2


@dataclass
class AccountsCompared:
    compared: int = 0
    skipped: int = 0
    """Accounts that moved past the fold (events arrived after the read): not comparable."""
    problems: list[str] = field(default_factory=list)


def compare_accounts(
    model: SyncReadModel,
    fold: JournalFold,
    size: int,
    wait_behind_s: float,
    seed: int | None = None,
) -> AccountsCompared:
    """`size` accounts of the fold (0: all) against Redis; an account whose Redis sequence is
    behind the fold is waited for up to `wait_behind_s` (the mirror lags a little)."""
    result = AccountsCompared()
    names = sorted(fold.accounts)
    chosen = names if size == 0 or size >= len(names) else random.Random(seed).sample(names, size)
    deadline = time.monotonic() + wait_behind_s
    pending = list(chosen)
    while pending:
        behind = []
        for program, account_id in pending:
            outcome = _compare(model, fold, program, account_id)
            if outcome == "behind":
                behind.append((program, account_id))
            elif outcome == "moved":
                result.skipped += 1
            else:
                result.compared += 1
                if outcome:
                    result.problems.append(outcome)
        if not behind or time.monotonic() >= deadline:
            for program, account_id in behind:
                result.compared += 1
                wanted = fold.account(program, account_id).sequence
                got = _redis_sequence(model, program, account_id)
                result.problems.append(
                    f"{program}:{account_id}: Redis is at sequence {got}, the journal at "
                    f"{wanted} (mirror behind for {wait_behind_s:.0f} s)"
                )
            break
        pending = behind
        time.sleep(BEHIND_POLL_S)
    return result


def _redis_sequence(model: SyncReadModel, program: str, account_id: str) -> int:
    balances = model.balances(program, account_id)
    return balances[0].sequence if balances else 0


def _compare(model: SyncReadModel, fold: JournalFold, program: str, account_id: str) -> str:
    """'' when equal, 'behind' / 'moved' when not comparable yet, else the problem."""
    want = fold.account(program, account_id)
    balances = model.balances(program, account_id)
    sequence = balances[0].sequence if balances else 0
    if sequence < want.sequence:
        return "behind"
    if sequence > want.sequence:
        return "moved"
    got = {b.asset: (b.available, b.held) for b in balances}
    if got != want.balances:
        return f"{program}:{account_id}: Redis has {got}, the journal folds to {want.balances}"
    return ""


def totals_problems(snapshot: TotalsSnapshot, fold: JournalFold) -> list[str]:
    """Redis's program totals against the fold's sums at the offsets Redis says it applied."""
    want_all = fold.totals_at_cut()
    problems = []
    for program in sorted(set(snapshot.totals) | set(want_all)):
        got = {k: v for k, v in snapshot.totals.get(program, {}).items() if v}
        want = {k: v for k, v in want_all.get(program, {}).items() if v}
        for name in sorted(set(got) | set(want)):
            if got.get(name, 0) != want.get(name, 0):
                problems.append(
                    f"totals of {program} {name}: Redis has {got.get(name, 0)}, the journal "
                    f"sums to {want.get(name, 0)}"
                )
    return problems
