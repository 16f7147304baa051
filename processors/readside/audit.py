"""The auditor: the journal's own invariants, and Redis against the fold of the journal.

Checks, in order:
1. sequence continuity per account and balanced postings per event (fold.py);
2. the trial balance per program and asset over the whole journal;
3. for a sample of accounts (all with `sample=None` and `everything=True`), Redis's
   balances and sequence equal the fold's. An account whose Redis sequence is behind the
   fold is waited for (the mirror lags a little); one that moved past the fold (events
   arrived after the read) is not comparable and skipped;
4. when Redis's stored offsets equal the journal's end, Redis's program totals equal the
   fold's totals.
A report with no problems is `ok`; the report is JSON-exportable and stored in Redis by the
continuous auditor (`{prefix}audit:last`).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field

import redis

from ledger.settings import Settings
from processors.readside.fold import JournalFold, trial_balance_problems
from processors.readside.journal import journal_partitions, read_journal
from readmodel.keys import audit_last
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts

BEHIND_POLL_S = 0.2


@dataclass
class AuditReport:
    checked_at_ms: int
    events: int
    accounts: int
    accounts_compared: int
    accounts_skipped: int
    generation: str | None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok}, indent=2)


def fold_journal(settings: Settings, contracts: WireContracts) -> JournalFold:
    """Read the whole journal read_committed to its stable end and fold it."""
    fold = JournalFold()
    starts = dict.fromkeys(journal_partitions(settings), -2)
    for batch in read_journal(settings, starts):
        for record in batch.records:
            fold.add(contracts.decode_event(record.value))
        fold.positions[batch.partition] = batch.position
    return fold


def audit(
    settings: Settings,
    client: redis.Redis,
    contracts: WireContracts,
    sample: int | None,
    wait_behind_s: float = 10.0,
    seed: int | None = None,
) -> AuditReport:
    """Audit now; `sample` accounts (None: settings.audit_sample_accounts, 0: all).

    Raises JournalReadTimeout, KafkaException, UndecodableMessage, redis errors.
    """
    started = time.monotonic()
    fold = fold_journal(settings, contracts)
    model = SyncReadModel(client, settings.redis_key_prefix)
    report = AuditReport(
        checked_at_ms=time.time_ns() // 1_000_000,
        events=fold.events,
        accounts=len(fold.accounts),
        accounts_compared=0,
        accounts_skipped=0,
        generation=model.generation(),
    )
    report.problems += fold.problems
    report.problems += trial_balance_problems(fold)

    size = settings.audit_sample_accounts if sample is None else sample
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
                report.accounts_skipped += 1
            else:
                report.accounts_compared += 1
                if outcome:
                    report.problems.append(outcome)
        if not behind or time.monotonic() >= deadline:
            for program, account_id in behind:
                report.accounts_compared += 1
                wanted = fold.accounts[(program, account_id)].sequence
                got = _redis_sequence(model, program, account_id)
                report.problems.append(
                    f"{program}:{account_id}: Redis is at sequence {got}, the journal at "
                    f"{wanted} (mirror behind for {wait_behind_s:.0f} s)"
                )
            break
        pending = behind
        time.sleep(BEHIND_POLL_S)

    report.problems += _totals_problems(model, fold)
    report.seconds = time.monotonic() - started
    return report


def _redis_sequence(model: SyncReadModel, program: str, account_id: str) -> int:
    balances = model.balances(program, account_id)
    return balances[0].sequence if balances else 0


def _compare(model: SyncReadModel, fold: JournalFold, program: str, account_id: str) -> str:
    """'' when equal, 'behind' / 'moved' when not comparable yet, else the problem."""
    want = fold.accounts[(program, account_id)]
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


def _totals_problems(model: SyncReadModel, fold: JournalFold) -> list[str]:
    """Only comparable when Redis has applied exactly the journal that was folded."""
    stored = model.offsets()
    if {p: o + 1 for p, o in stored.items()} != fold.positions:
        return []
    problems = []
    for program, totals in sorted(fold.totals.items()):
        got = {k: v for k, v in model.totals_fields(program).items() if v}
        want = {k: v for k, v in totals.items() if v}
        if got != want:
            problems.append(f"totals of {program}: Redis has {got}, the journal {want}")
    return problems


def store_report(client: redis.Redis, settings: Settings, report: AuditReport) -> None:
    client.set(audit_last(settings.redis_key_prefix), report.to_json())
