"""The auditor: the books' invariants over the journal, and the changelog and Redis against it.

Checks, in order:
1. every event: sequence continuity, balanced postings, the balances it states, legs that
   settle a transfer (ledger/invariants.py, through fold.py);
2. the whole book: trial balance per program and asset, lots = max(available, 0), held =
   open holds, `@holds` = every account's held, `@transit` = transfers in flight and never
   negative. The journal is read partition by partition, so a credit leg may be met before
   the debit committed before it: the tail is read once more (`CATCH_UP_READS_MAX`) and only
   legs the last read brought are given the benefit of the doubt;
3. the state changelog (what the core restores from): every stored state must hold the
   account invariants itself, and equal the journal's fold when both have seen the same
   events (same sequence, clock and request ids; otherwise it moved on and is skipped);
4. for a sample of accounts (all with `sample=0`), Redis's balances and sequence equal the
   fold's. An account whose Redis sequence is behind the fold is waited for (the mirror lags
   a little); one that moved past the fold (events arrived after the read) is skipped;
5. Redis's program totals equal the fold's sums up to the offsets Redis says it applied:
   both read in one atomic snapshot first, and the fold keeps the sums at that cut;
6. in a region, the copies of every other region's journal and their read models the same
   way, and `@transit` reconciled across regions (regional_audit.py).
A report with no problems is `ok`; the report is JSON-exportable and stored in Redis by the
continuous auditor (`{prefix}audit:last`).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field

import redis

from ledger.invariants import TransferKey, account_problems
from ledger.model import AccountState
from processors.core.changelog import read_states
from processors.readside.fold import JournalFold
from processors.readside.folding import fold_from
from processors.readside.journal import journal_partitions
from processors.readside.redis_check import compare_accounts, totals_problems
from processors.readside.regional_audit import audit_regions
from readmodel.keys import audit_last
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings

CATCH_UP_READS_MAX = 2
CHANGELOG_READ_TIMEOUT_S = 3600.0


@dataclass
class AuditReport:
    checked_at_ms: int
    events: int
    accounts: int
    accounts_compared: int
    accounts_skipped: int
    generation: str | None
    changelog_compared: int = 0
    totals_compared: bool = False
    problems: list[str] = field(default_factory=list)
    copies: dict[str, int] = field(default_factory=dict)
    """In a region: per other region, the events of its journal's copy audited here."""
    transit: dict[str, dict[str, object]] = field(default_factory=dict)
    """In a region: per "program asset", @transit of every region explained, and of all."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        by_program: dict[str, list[str]] = {}
        for problem in self.problems:
            by_program.setdefault(problem_program(problem), []).append(problem)
        return json.dumps(
            {**asdict(self), "ok": self.ok, "problems_by_program": by_program}, indent=2
        )


_SYSTEM_WIDE = re.compile(r"^(?:trial balance|@holds|@transit|totals) of (\S+) ")


def problem_program(problem: str) -> str:
    """The program a problem line is about ("" if none), so that a reader (the dashboard)
    shows a key only its own programs' problems. Lines name it first (`acme:ann ...`,
    `changelog: acme:ann ...`) or as `... of acme ...`."""
    text = problem.removeprefix("changelog: ")
    found = _SYSTEM_WIDE.match(text)
    if found:
        return found.group(1)
    program, separator, _ = text.partition(":")
    return program if separator and " " not in program else ""


def fold_journal(
    settings: Settings, contracts: WireContracts, cut: dict[int, int] | None = None
) -> tuple[JournalFold, frozenset[TransferKey]]:
    """Read the whole journal read_committed to its stable end and fold it, then its tail
    while legs are still waiting for their transfer. Returns the fold and the legs to give
    the benefit of the doubt (brought by the last read)."""
    fold = JournalFold(cut)
    fold_from(fold, settings, contracts, dict.fromkeys(journal_partitions(settings), -2))
    tolerated: frozenset[TransferKey] = frozenset()
    for _ in range(CATCH_UP_READS_MAX):
        waiting = fold.unsettled_legs()
        if not waiting:
            break
        fold_from(fold, settings, contracts, dict(fold.positions))
        tolerated = fold.unsettled_legs() - waiting
    return fold, tolerated


def audit(
    settings: Settings,
    client: redis.Redis,
    contracts: WireContracts,
    sample: int | None,
    wait_behind_s: float = 10.0,
    seed: int | None = None,
) -> AuditReport:
    """Audit now; `sample` accounts (None: settings.audit_sample_accounts, 0: all).

    Raises JournalReadTimeout, ReadTimeout, KafkaException, redis errors.
    """
    started = time.monotonic()
    model = SyncReadModel(client, settings.redis_key_prefix)
    snapshot = model.totals_snapshot()
    fold, tolerated = fold_journal(settings, contracts, snapshot.offsets if snapshot else None)
    report = AuditReport(
        checked_at_ms=time.time_ns() // 1_000_000,
        events=fold.events,
        accounts=len(fold.books.states),
        accounts_compared=0,
        accounts_skipped=0,
        generation=snapshot.generation if snapshot else None,
    )
    report.problems += fold.problems
    size = settings.audit_sample_accounts if sample is None else sample
    if settings.other_regions:
        regional = audit_regions(settings, client, contracts, fold, tolerated, size, wait_behind_s)
        tolerated = regional.tolerated_here
        report.copies, report.transit = regional.copies, regional.transit
        report.problems += regional.problems
        report.accounts_compared += regional.accounts_compared
    report.problems += fold.invariant_problems(tolerated)
    report.problems += _changelog_problems(settings, contracts, fold, report)

    compared = compare_accounts(model, fold, size, wait_behind_s, seed)
    report.accounts_compared += compared.compared
    report.accounts_skipped = compared.skipped
    report.problems += compared.problems
    if snapshot is not None:
        report.problems += totals_problems(snapshot, fold)
        report.totals_compared = True
    report.seconds = time.monotonic() - started
    return report


def _changelog_problems(
    settings: Settings, contracts: WireContracts, fold: JournalFold, report: AuditReport
) -> list[str]:
    """The changelog is read after the journal: it may be ahead (skipped), never behind."""
    states, _ = read_states(
        settings, contracts, journal_partitions(settings), CHANGELOG_READ_TIMEOUT_S
    )
    stored = {key: state for accounts in states.values() for key, state in accounts.items()}
    problems = []
    for key, state in sorted(stored.items()):
        problems += [f"changelog: {problem}" for problem in account_problems(state)]
        folded = fold.state(state.program, state.account_id)
        if folded is None or not _same_history(folded, state):
            continue
        report.changelog_compared += 1
        if folded != state:
            problems.append(
                f"changelog: {key.decode(errors='replace')} differs from the journal's fold in "
                f"{', '.join(_differences(folded, state))}"
            )
    return problems


def _same_history(folded: AccountState, stored: AccountState) -> bool:
    return (folded.sequence, folded.clock_ms, folded.receipts.keys()) == (
        stored.sequence,
        stored.clock_ms,
        stored.receipts.keys(),
    )


def _differences(folded: AccountState, stored: AccountState) -> list[str]:
    fields = ("balances", "lots", "holds", "receipts", "reversibles")
    found = [name for name in fields if getattr(folded, name) != getattr(stored, name)]
    if found == ["lots"]:
        found = [
            f"lots of {asset} ({[(lot.lot_id, lot.amount) for lot in stored.lots.get(asset, ())]}"
            f", the journal folds to {[(lot.lot_id, lot.amount) for lot in lots]})"
            for asset, lots in sorted(folded.lots.items())
            if stored.lots.get(asset) != lots
        ] or ["lots"]
    return found


def store_report(client: redis.Redis, settings: Settings, report: AuditReport) -> None:
    client.set(audit_last(settings.redis_key_prefix), report.to_json())
