"""`ledger tx OPERATION ...` and `ledger account show`: the API from a terminal, through the
Python client (clients/python), so operators use exactly what apps use: idempotency keys,
retries that honour Retry-After, typed errors. LEDGER_API_URL and LEDGER_API_KEY say where
and as whom."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cli.errors import CliError
from settings import Settings

if TYPE_CHECKING:
    from reward_ledger_client import LedgerClient

# operation -> (takes an amount, what else it needs)
OPERATIONS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "accrue": (True, ()),
    "redeem": (True, ()),
    "hold": (True, ()),
    "capture": (True, ("reference",)),
    "release": (False, ("reference",)),
    "reverse": (True, ("reference",)),
    "adjust": (True, ("reason",)),
    "transfer": (True, ("to",)),
}


def register(subparsers: Any) -> None:
    tx = subparsers.add_parser(
        "tx",
        help="send a transaction through the HTTP API (LEDGER_API_URL, LEDGER_API_KEY)",
        description="Amounts: an integer is minor units (150), a decimal is major units (1.50).",
    )
    operations = tx.add_subparsers(dest="operation", required=True, metavar="OPERATION")
    for name, (amount, needs) in OPERATIONS.items():
        parser = operations.add_parser(name, help=f"{name.upper()} on an account")
        parser.add_argument("program")
        parser.add_argument("account_id")
        parser.add_argument("asset")
        if amount:
            parser.add_argument("amount", type=_amount, help="150 (minor units) or 1.50")
        for option in needs:
            parser.add_argument(f"--{option}", required=True, help=_HELP[option])
        parser.add_argument("--request-id", help="idempotency key (generated when omitted)")
        if name in ("accrue", "hold", "reverse", "adjust"):
            parser.add_argument("--expires-at-ms", type=int, help="epoch milliseconds")
        parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
        parser.set_defaults(handler=_tx)
    account = subparsers.add_parser("account", help="an account through the HTTP API")
    actions = account.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="balances and recent history of an account")
    show.add_argument("program")
    show.add_argument("account_id")
    show.add_argument("--history", type=int, default=10, help="recent events shown (0: none)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)


_HELP = {
    "reference": "request id of the HOLD (capture, release) or of what is reversed",
    "reason": "why (kept in the journal)",
    "to": "the receiving account",
}


def _amount(text: str) -> int | Decimal:
    """150 (minor units) or 1.50 (major units); nothing else (no 1e2, NaN or Infinity, whose
    meaning a person could misread by a factor of the scale)."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return Decimal(text)
    raise argparse.ArgumentTypeError(f"not an amount: {text!r} (150 or 1.50)")


def client_for(settings: Settings) -> LedgerClient:
    try:
        from reward_ledger_client import LedgerClient
    except ImportError:  # installed by `make install`; a bare `pip install .` lacks it
        raise CliError("the Python client is not installed: pip install ./clients/python") from None
    if not settings.api_key:
        raise CliError("set LEDGER_API_KEY to an API key (`ledger keys create ...`)")
    scheme = "https" if settings.gateway_tls_cert_file else "http"
    url = settings.api_url or f"{scheme}://{settings.gateway_host}:{settings.gateway_port}"
    return LedgerClient(url, settings.api_key)


def _tx(args: argparse.Namespace, settings: Settings) -> int:
    import httpx
    from reward_ledger_client import LedgerError

    extra: dict[str, Any] = {"request_id": args.request_id}
    if getattr(args, "expires_at_ms", None) is not None:
        extra["expires_at_ms"] = args.expires_at_ms
    for option in OPERATIONS[args.operation][1]:
        extra[option] = getattr(args, option)
    positional = [args.program, args.account_id, args.asset]
    if OPERATIONS[args.operation][0]:
        positional.append(args.amount)
    with client_for(settings) as client:
        try:
            outcome = getattr(client, args.operation)(*positional, **extra)
        except LedgerError as error:
            print(f"{error.status} {error.code}: {error.detail}")
            return 1
        except httpx.TransportError as error:
            raise CliError(f"the gateway at {client.base_url} did not answer: {error}") from None
    if args.json:
        print(json.dumps(asdict(outcome), default=str))
    else:
        shown = ", ".join(
            f"{b.asset} {b.available_decimal} (held {b.held_decimal})" for b in outcome.balances
        )
        print(f"{outcome.status} {outcome.request_id} sequence {outcome.sequence}: {shown}")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    import httpx
    from reward_ledger_client import LedgerError

    with client_for(settings) as client:
        try:
            balances = client.balances(args.program, args.account_id)
            history = (
                client.history(args.program, args.account_id, args.history)
                if args.history
                else None
            )
        except LedgerError as error:
            print(f"{error.status} {error.code}: {error.detail}")
            return 1
        except httpx.TransportError as error:
            raise CliError(f"the gateway at {client.base_url} did not answer: {error}") from None
    if args.json:
        print(
            json.dumps(
                {"balances": asdict(balances), "history": asdict(history) if history else None},
                default=str,
            )
        )
        return 0
    print(f"{balances.program}/{balances.account_id} at sequence {balances.sequence}")
    for b in balances.balances:
        print(f"  {b.asset:<16} available {b.available_decimal:>14}  held {b.held_decimal:>12}")
    for e in history.entries if history else ():
        why = f" ({e.reason})" if e.reason else ""
        print(f"  #{e.sequence:<5} {e.operation:<8} {e.asset:<12} {e.amount:>10} {e.status}{why}")
    return 0
