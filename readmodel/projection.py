"""A journal event as the Lua script wants it: one compact JSON argument per event.

Everything the script only stores (history entry, outcome) is rendered here as finished JSON,
so the script parses little, and so are the keys it writes (readmodel/keys.py). Amounts
travel as strings: Lua numbers are doubles and would round amounts beyond 2^53; Redis stores
balances as the strings they are, and the script adds totals as decimal strings, exactly.
"""

from __future__ import annotations

import msgspec

from ledger.accounts import is_system
from ledger.idempotency import remembers
from ledger.model import LedgerEvent, Operation, Status
from readmodel.history import HistoryEntry, PostingView, history_entry_to_json
from readmodel.keys import (
    CUSTOMERS,
    TOTALS_SEPARATOR,
    BalanceAfter,
    Outcome,
    account_events_suffix,
    account_suffix,
    accounts_suffix,
    activity_fields,
    activity_suffix,
    freshness_field_prefix,
    history_suffix,
    outcome_to_json,
    request_suffix,
    totals_suffix,
)

# Compact JSON (no spaces), UTF-8 as is; a fifth of json.dumps's time on the mirror's path.
_JSON = msgspec.json.Encoder()


def event_outcome(event: LedgerEvent) -> Outcome:
    request = event.request
    return Outcome(
        program=event.program,
        account_id=event.account_id,
        request_id=request.request_id,
        status=event.status.value,
        reason=event.reason.value if event.reason else None,
        sequence=event.sequence,
        event_id=event.event_id,
        operation=request.operation.value,
        balances=tuple(BalanceAfter(b.asset, b.available, b.held) for b in event.balances),
        processed_at_ms=event.processed_at_ms,
        original_sequence=event.original_sequence,
    )


def history_entry(event: LedgerEvent) -> HistoryEntry:
    request = event.request
    return HistoryEntry(
        sequence=event.sequence,
        event_id=event.event_id,
        request_id=request.request_id,
        operation=request.operation.value,
        status=event.status.value,
        reason=event.reason.value if event.reason else None,
        asset=request.asset,
        amount=request.amount,
        postings=tuple(PostingView(p.account, p.asset, p.amount) for p in event.postings),
        processed_at_ms=event.processed_at_ms,
    )


def totals_field(account: str, asset: str) -> str:
    """System accounts (`@issuance`, ...) have their own field; customers share one."""
    holder = account if is_system(account) else CUSTOMERS
    return f"{asset}{TOTALS_SEPARATOR}{holder}"


def script_argument(event: LedgerEvent, offset: int, reply_channel: str | None = None) -> str:
    """The event as the script's argument; `reply_channel` (keys.reply_channel) is where the
    outcome is published when a gateway process waits for it."""
    applied = event.status is Status.APPLIED
    program, account = event.program, event.account_id
    argument = {
        "o": offset,
        "p": program,
        "a": account,
        # Every key the event touches, under the generation: readmodel/keys.py spells them.
        "ka": account_suffix(program, account),
        "kh": history_suffix(program, account),
        "kr": request_suffix(program, account, event.request.request_id),
        "kt": totals_suffix(program),
        "ks": accounts_suffix(program),
        "s": event.sequence,
        "st": event.status.value,
        "t": str(event.processed_at_ms),
        "b": [[b.asset, str(b.available), str(b.held)] for b in event.balances] if applied else [],
        "ps": [[totals_field(p.account, p.asset), str(p.amount)] for p in event.postings]
        if applied
        else [],
        "h": history_entry_to_json(history_entry(event)),
        # Where the history entry is published for the account's live streams.
        "ke": account_events_suffix(program, account),
        "r": outcome_to_json(event_outcome(event)),
        # The request's final outcome (applied, or a remembered rejection): it replaces
        # whatever status was stored; any other reply never hides a stored status.
        "f": 1 if remembers(event) else 0,
        # The activity counters (keys.activity_fields) of the second it was processed in.
        "kc": activity_suffix(event.processed_at_ms // 1000),
        "cf": activity_fields(
            program,
            event.request.operation.value,
            event.status.value,
            event.reason.value if event.reason else None,
        ),
        # When its request was sent, for the freshness bucket the script counts; 0 (not
        # counted) for what no client waited on: timers fire at their due time, and a
        # duplicate carries the first attempt's time.
        "rq": 0 if _not_waited_on(event) else event.request.requested_at_ms,
        "fp": freshness_field_prefix(program),
    }
    if reply_channel is not None:
        argument["rc"] = reply_channel
    return _JSON.encode(argument).decode()


_TIMER_OPERATIONS = frozenset({Operation.EXPIRE, Operation.HOLD_TIMEOUT})


def _not_waited_on(event: LedgerEvent) -> bool:
    return event.status is Status.DUPLICATE or event.request.operation in _TIMER_OPERATIONS
