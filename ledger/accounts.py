"""The ledger's system accounts: the other side of every posting that is not a transfer.

Every movement of value is a balanced set of postings; the counterpart of a member's balance
is one of these accounts, so the trial balance of a program is zero and each figure of the
books (issued, redeemed, expired, adjusted, held, in transit) is one account's total. Their
names begin with `@`, which no member account may (the gateway and the decoder refuse it).
"""

from __future__ import annotations

SYSTEM_PREFIX = "@"
ISSUANCE = "@issuance"  # value issued by accruals (negative: what the program owes)
REDEMPTIONS = "@redemptions"  # value members spent
EXPIRED = "@expired"  # value that lapsed
ADJUSTMENTS = "@adjustments"  # operators' corrections, either way
TRANSIT = "@transit"  # debited from a sender, not yet credited to a receiver
HOLDS = "@holds"  # reserved by open holds


def is_system(account: str) -> bool:
    return account.startswith(SYSTEM_PREFIX)
