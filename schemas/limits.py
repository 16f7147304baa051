"""Size limits of the request contract: part of it, like the field types.

A request is small by construction: ids, names and texts are bounded, and so are its
metadata and carried lots. The limits are checked where requests enter the ledger: when the
core decodes a record (`request_violations`; a record over a limit is dead-lettered, reason
`limit_exceeded`, never decided) and by the gateway's HTTP contract, which uses the same
constants. So a request can never make an output too large to write by its own size; what
can still grow is the account it applies to, which the core checks on output
(`LEDGER_RECORD_BYTES_MAX`, reason `output_too_large`).

Lengths are in characters, as Python counts them.
"""

from __future__ import annotations

from ledger.model import Request

REQUEST_ID_LENGTH_MAX = 128
ACCOUNT_ID_LENGTH_MAX = 128
NAME_LENGTH_MAX = 64
"""Programs and asset codes (config/programs.toml limits them to 64 too)."""
REASON_LENGTH_MAX = 500
PRINCIPAL_LENGTH_MAX = 128
METADATA_ENTRIES_MAX = 32
METADATA_KEY_LENGTH_MAX = 64
METADATA_VALUE_LENGTH_MAX = 512
CARRIED_LOTS_MAX = 10_000
"""Slices one transfer leg may carry: a transfer that would take more lots is refused."""


def request_violations(request: Request) -> list[str]:
    """Every limit the request breaks, as `field: what` lines (empty: within the contract)."""
    problems = []
    for name, value, limit in (
        ("request_id", request.request_id, REQUEST_ID_LENGTH_MAX),
        ("program", request.program, NAME_LENGTH_MAX),
        ("account_id", request.account_id, ACCOUNT_ID_LENGTH_MAX),
        ("asset", request.asset, NAME_LENGTH_MAX),
        ("reference", request.reference, REQUEST_ID_LENGTH_MAX),
        ("counterparty_account_id", request.counterparty_account_id, ACCOUNT_ID_LENGTH_MAX),
        ("reason", request.reason, REASON_LENGTH_MAX),
        ("principal", request.principal, PRINCIPAL_LENGTH_MAX),
    ):
        if value is not None and len(value) > limit:
            problems.append(f"{name}: {len(value)} characters, at most {limit}")
    metadata = request.metadata
    if len(metadata) > METADATA_ENTRIES_MAX:
        problems.append(f"metadata: {len(metadata)} entries, at most {METADATA_ENTRIES_MAX}")
    for key, value in metadata.items():
        if len(key) > METADATA_KEY_LENGTH_MAX or len(value) > METADATA_VALUE_LENGTH_MAX:
            problems.append(
                f"metadata: an entry of {len(key)} + {len(value)} characters, at most "
                f"{METADATA_KEY_LENGTH_MAX} + {METADATA_VALUE_LENGTH_MAX}"
            )
            break
    if len(request.carried_lots) > CARRIED_LOTS_MAX:
        problems.append(f"carried_lots: {len(request.carried_lots)}, at most {CARRIED_LOTS_MAX}")
    return problems
