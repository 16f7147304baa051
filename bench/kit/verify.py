"""The bench's correctness check: the journal, folded, must give the model's balances.

Balances come from folding each account's journal events with `ledger.evolve.evolve`, the
same fold that rebuilds state and read models, and are compared with the bench model's
plain sums for every account the workload touched. The outcome counts (by status and
reason) are compared too: equal balances with different outcomes would be luck.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.kit.model import ModelAccount
from bench.kit.workload import ASSET, outcome_label
from ledger.evolve import evolve
from ledger.model import AccountState, LedgerEvent

MISMATCHES_KEPT = 10


@dataclass
class Verification:
    accounts_checked: int = 0
    balances_verified: bool = False
    outcomes_verified: bool = False
    mismatches: list[str] = field(default_factory=list)
    outcome_counts: dict[str, int] = field(default_factory=dict)
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)  # account -> found


def verify_journal(
    events: Sequence[LedgerEvent],
    expected_balances: Mapping[str, tuple[int, int]],
    expected_outcomes: Counter[str],
) -> Verification:
    states: dict[str, AccountState] = {}
    outcomes: Counter[str] = Counter()
    for event in events:
        states[event.account_id] = evolve(states.get(event.account_id), event)
        outcomes[
            outcome_label(event.status.value, event.reason.value if event.reason else None)
        ] += 1
    folded = {}
    for account, state in states.items():
        balance = state.balances.get(ASSET)
        folded[account] = (balance.available, balance.held) if balance else (0, 0)
    return _compare(folded, expected_balances, outcomes, expected_outcomes)


def verify_peer_accounts(
    accounts: Mapping[str, ModelAccount],
    expected_balances: Mapping[str, tuple[int, int]],
    outcomes: Counter[str],
    expected_outcomes: Counter[str],
) -> Verification:
    """The same comparison for the Faust peer's table, read back from its changelog."""
    folded = {name: account.balance(ASSET) for name, account in accounts.items()}
    return _compare(folded, expected_balances, outcomes, expected_outcomes)


def _compare(
    balances: Mapping[str, tuple[int, int]],
    expected_balances: Mapping[str, tuple[int, int]],
    outcomes: Counter[str],
    expected_outcomes: Counter[str],
) -> Verification:
    mismatches = []
    for account in sorted(set(balances) | set(expected_balances)):
        got, want = balances.get(account, (0, 0)), expected_balances.get(account, (0, 0))
        if got != want:
            mismatches.append(f"{account}: (available, held) is {got}, the model says {want}")
    outcomes_match = outcomes == expected_outcomes
    if not outcomes_match:
        mismatches.append(f"outcomes {dict(outcomes)}, the model says {dict(expected_outcomes)}")
    balance_mismatches = len(mismatches) - (0 if outcomes_match else 1)
    return Verification(
        accounts_checked=len(set(balances) | set(expected_balances)),
        balances_verified=balance_mismatches == 0 and bool(expected_balances),
        outcomes_verified=outcomes_match,
        mismatches=mismatches[:MISMATCHES_KEPT],
        outcome_counts=dict(sorted(outcomes.items())),
        balances=dict(balances),
    )
